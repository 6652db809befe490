/**
 * The connections a session writes to (several when they share it: `resume` with `share`): one
 * {@link ConnectionWriter} per connection, each with its own backpressure and its own acknowledged
 * seq. With one connection it behaves as that connection's writer.
 */
import { ConnectionWriter } from './connection-writer';
import type { BackpressureLimits, Logger, Transport } from './ports';

/** One attached connection: its writer, and how far its client acknowledged the stream. */
interface Attached {
  readonly writer: ConnectionWriter;
  acknowledged: number;
}

/** The connections a session writes to, in the order they attached. */
export class SessionConnections {
  private attached: Attached[] = [];
  /** The drain listener, while someone waits for every connection to drain. */
  private drainListener: (() => void) | undefined;

  constructor(
    private readonly limits: BackpressureLimits,
    private readonly logger: Logger,
    private readonly sessionId: string,
  ) {}

  /** The connection attached first, if any (the only one unless shared). */
  get transport(): Transport | undefined {
    return this.attached[0]?.writer.transport;
  }

  /** The connections attached, in the order they attached. */
  transports(): Transport[] {
    return this.attached.map((entry) => entry.writer.transport as Transport);
  }

  /** How many connections are attached. */
  get size(): number {
    return this.attached.length;
  }

  /**
   * Attaches `next` after writing `replay` to it. Shared: beside the others, acknowledged from
   * `acknowledged` on. Else it takes the session over: the others are detached and returned,
   * for the caller to close.
   */
  attach(next: Transport, replay: readonly string[], share: boolean, acknowledged: number): Transport[] {
    const existing = this.attached.find((entry) => entry.writer.transport === next);
    const previous = share
      ? []
      : this.attached.filter((entry) => entry !== existing).map((entry) => entry.writer.transport as Transport);
    if (!share) {
      for (const entry of this.attached) if (entry !== existing) entry.writer.detachCurrent();
      this.attached = existing ? [existing] : [];
    }
    const entry = existing ?? { writer: new ConnectionWriter(this.limits, this.logger, this.sessionId), acknowledged };
    if (!existing) this.attached.push(entry);
    entry.writer.attach(next, replay);
    if (this.drainListener) entry.writer.watchDrain(this.drainListener);
    return previous;
  }

  /** `gone` closed: true if it was attached (its writer detached). */
  detach(gone: Transport): boolean {
    const entry = this.attached.find((candidate) => candidate.writer.transport === gone);
    if (!entry) return false;
    entry.writer.detachCurrent();
    this.attached = this.attached.filter((candidate) => candidate !== entry);
    return true;
  }

  /** No connection any more. */
  detachAll(): void {
    for (const entry of this.attached) entry.writer.detachCurrent();
    this.attached = [];
    this.drainListener = undefined;
  }

  /** Whether any connection holds more than its high-water mark unsent: the reply holds back for the slowest. */
  congested(): boolean {
    return this.attached.some((entry) => entry.writer.congested());
  }

  /** Writes one encoded frame to every connection; one past its hard limit is closed alone (4408). */
  write(text: string): void {
    for (const entry of this.attached) entry.writer.write(text);
  }

  /** Writes one encoded frame to `to` alone: false if it is not attached. */
  writeTo(to: Transport, text: string): boolean {
    const entry = this.attached.find((candidate) => candidate.writer.transport === to);
    entry?.writer.write(text);
    return entry !== undefined;
  }

  closeIfOver(waitingBytes: number): void {
    for (const entry of this.attached) entry.writer.closeIfOver(waitingBytes);
  }

  /** Calls `listener` on each drain signal of any connection, until {@link stopDrainWatch}. */
  watchDrain(listener: () => void): void {
    this.drainListener = listener;
    for (const entry of this.attached) entry.writer.watchDrain(listener);
  }

  stopDrainWatch(): void {
    this.drainListener = undefined;
    for (const entry of this.attached) entry.writer.stopDrainWatch();
  }

  /** Closes every connection (the session stays; each end detaches it). */
  close(code: number, reason: string): void {
    for (const entry of [...this.attached]) entry.writer.transport?.close(code, reason);
  }

  /**
   * The client on `from` (the only connection when not given) has the stream up to `seq`.
   * Returns what every attached connection has acknowledged: the least of them.
   */
  acknowledge(seq: number, from: Transport | undefined): number | undefined {
    const entry =
      from === undefined ? this.attached[0] : this.attached.find((candidate) => candidate.writer.transport === from);
    if (entry && seq > entry.acknowledged) entry.acknowledged = seq;
    return this.attached.length === 0
      ? undefined
      : Math.min(...this.attached.map((candidate) => candidate.acknowledged));
  }
}
