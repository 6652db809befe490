/**
 * Writes a session's frames to one connection, with the server's side of backpressure (the hard
 * limit that closes a reader too slow, and waiting for a drain). `SessionConnections` has one per
 * attached connection.
 */
import { CloseCode } from '../protocol/codes';
import type { BackpressureLimits, Logger, Transport } from './ports';

export type { BackpressureLimits };

/** The connection a session writes to, if any, and how full its send buffer is. */
export class ConnectionWriter {
  private current: Transport | undefined;
  /** The largest frame written since the send buffer was last at or below its high-water mark, in bytes. */
  private largestFrame = 0;
  /** Set while someone waits for the connection to drain: stops listening. */
  private drainWatch: { readonly transport: Transport; readonly stop: () => void } | undefined;

  constructor(
    private readonly limits: BackpressureLimits,
    private readonly logger: Logger,
    private readonly sessionId: string,
  ) {}

  /** The connection attached now. */
  get transport(): Transport | undefined {
    return this.current;
  }

  /**
   * Makes `next` the connection, after writing `replay` frames to it. Returns the connection it
   * replaces, if any, for the caller to close.
   */
  attach(next: Transport, replay: readonly string[] = []): Transport | undefined {
    const previous = this.current;
    this.current = next;
    // Whoever waits for a drain now waits for the new connection's, not the old one's.
    if (this.drainWatch && this.drainWatch.transport !== next) this.stopDrainWatch();
    for (const frame of replay) this.write(frame);
    return previous === next ? undefined : previous;
  }

  /** `gone` closed: false (and nothing done) if another connection is attached by now. */
  detach(gone: Transport): boolean {
    if (this.current !== gone) return false;
    this.detachCurrent();
    return true;
  }

  /** No connection any more (the session ends, or its connection went). */
  detachCurrent(): void {
    this.current = undefined;
    this.stopDrainWatch();
  }

  /** Whether the connection holds more than its high-water mark unsent. */
  congested(): boolean {
    return this.current !== undefined && this.current.bufferedAmount() > this.limits.highWaterMark;
  }

  /** Writes one encoded frame to the connection, if any; closes it if that puts it past the hard limit. */
  write(text: string): void {
    const transport = this.current;
    if (!transport) return;
    if (transport.bufferedAmount() <= this.limits.highWaterMark) this.largestFrame = 0;
    transport.send(text);
    // Only a large frame's size needs counting in bytes: a small one is far below the limits either way.
    this.largestFrame = Math.max(this.largestFrame, text.length < 65_536 ? text.length : Buffer.byteLength(text));
    this.closeIfOver(0);
  }

  /** Closes the connection (4408) if its buffer plus `waitingBytes` held back by the session passes the hard limit. */
  closeIfOver(waitingBytes: number): void {
    const transport = this.current;
    if (transport && transport.bufferedAmount() + waitingBytes > this.hardLimit()) this.tooSlow(transport);
  }

  /** Calls `listener` on each drain signal of the attached connection, until {@link stopDrainWatch} or another attaches. */
  watchDrain(listener: () => void): void {
    const transport = this.current;
    if (!transport || this.drainWatch?.transport === transport) return;
    this.stopDrainWatch();
    this.drainWatch = { transport, stop: transport.onDrain(listener) };
  }

  /** Stops listening for drains (nobody waits any more). */
  stopDrainWatch(): void {
    this.drainWatch?.stop();
    this.drainWatch = undefined;
  }

  /**
   * The hard limit, plus the largest frame written since the buffer was last below its
   * high-water mark: one large frame (a long reply's `llm_complete`) is the server's doing, not
   * a slow reader's, so only what piles up beyond it counts.
   */
  private hardLimit(): number {
    return this.limits.hardLimit + this.largestFrame;
  }

  private tooSlow(transport: Transport): void {
    // The connection goes; the session stays, and the client may resume from the replay log.
    this.logger.warn(
      { sessionId: this.sessionId },
      'client too slow: closing its connection (the session stays resumable)',
    );
    transport.close(CloseCode.TooSlow, 'client too slow: send buffer over its hard limit');
  }
}
