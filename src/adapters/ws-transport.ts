import { WebSocket } from 'ws';
import type { Transport } from '../core/ports';

/**
 * A connection's WebSocket as the core sees it: a class, so each costs its fields. Every frame is
 * sent with a write callback, fired once `ws` wrote it out: that is the drain signal. (Per-tick
 * corking would live here too: cork on a tick's first `send`, uncork on `process.nextTick`.)
 */
export class WebSocketTransport implements Transport {
  private drainListeners: Array<() => void> | undefined;
  /** The send buffer shrank: whoever waits for a drain checks `bufferedAmount` again. */
  private readonly written = (): void => {
    const listeners = this.drainListeners;
    if (listeners) for (const listener of [...listeners]) listener();
  };

  constructor(private readonly ws: WebSocket) {}

  send(text: string): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(text, this.written);
  }

  close(code: number, reason: string): void {
    this.ws.close(code, reason);
  }

  bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  onDrain(listener: () => void): () => void {
    const own = (): void => listener();
    (this.drainListeners ??= []).push(own);
    return () => {
      const remaining = this.drainListeners?.filter((candidate) => candidate !== own);
      this.drainListeners = remaining && remaining.length > 0 ? remaining : undefined;
    };
  }
}
