import type { Duplex } from 'node:stream';
import { WebSocket } from 'ws';
import type { Transport } from '../core/ports';
import { DrainListeners } from './drain-listeners';

/** Corked frames of more than this many characters leave before the tick ends (chat chunks are ~100). */
const CORK_FLUSH_CHARS = 64 * 1024;

/**
 * A connection's WebSocket as the core sees it: a class, so each costs its fields. Every frame is
 * sent with a write callback, fired once `ws` wrote it out: that is the drain signal.
 *
 * The frames of one tick leave in one write: the socket is corked at the tick's first `send` and
 * uncorked on `process.nextTick`, so a tick that streams to many connections makes one `writev`
 * per connection instead of one per frame (a system call costs more than anything else per
 * chunk). Each frame stays a frame of its own; a paced stream's lone frame leaves in the same tick.
 */
export class WebSocketTransport implements Transport {
  private readonly drainListeners = new DrainListeners();
  /** Whether the socket is corked until the end of this tick. */
  private corked = false;
  /** About how many bytes wait behind the cork (characters: a frame's length is all that is at hand). */
  private corkedChars = 0;
  private readonly uncork = (): void => {
    this.corked = false;
    this.corkedChars = 0;
    this.socket.uncork();
  };
  /** The send buffer shrank: whoever waits for a drain checks `bufferedAmount` again. */
  private readonly written = (): void => this.drainListeners.fire();

  /** `socket` is the one the upgrade came on, under `ws`. */
  constructor(
    private readonly ws: WebSocket,
    private readonly socket: Duplex,
  ) {}

  send(text: string): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(this.uncork);
    }
    this.ws.send(text, this.written);
    // Large frames are offered to the network at once: `bufferedAmount` then says what the network
    // did not take, which is what the session's backpressure reads (a tick of corked megabytes
    // would look like a slow reader).
    this.corkedChars += text.length;
    if (this.corkedChars >= CORK_FLUSH_CHARS) {
      this.corkedChars = 0;
      this.socket.uncork();
      this.socket.cork();
    }
  }

  close(code: number, reason: string): void {
    this.ws.close(code, reason);
  }

  bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  onDrain(listener: () => void): () => void {
    return this.drainListeners.add(listener);
  }
}
