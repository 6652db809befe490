/**
 * The commands of one event-loop turn on the store's command connection leave in one socket
 * write. The first write of a turn corks the connection's socket (on a cluster: each master's);
 * a `setImmediate` uncorks it once the turn's I/O callbacks have run, so the frames of every
 * upstream read of one poll batch go to Redis together. Without it each XADD was its own write
 * syscall in llm-ws and its own read and write in redis-server.
 *
 * While frames stream, a batch leaves no sooner than {@link BATCH_INTERVAL_MS} after the previous
 * one, and on one Redis not before the previous one has been answered (one batch in flight, as
 * Nagle's algorithm does for bytes): the busier the process, the more each write carries, for at
 * most a millisecond or a round trip of delay on writes no client waits for. On a cluster, where a
 * session's writes already wait for its previous ones (ordered-writes.ts), only the interval holds.
 *
 * Corking changes when bytes leave, not what ioredis does: every command is still written to
 * the socket when issued, in order, with its deadline running from then. So commands keep their
 * order with each other (appends, history, busy, XTRIM, release) as on an uncorked socket, and a
 * Redis that stops answering fails them at their deadline as before. ioredis's own
 * auto-pipelining batches alike but threw from its `setImmediate` when the socket had closed
 * meanwhile (no offline queue), and on a cluster held commands for a hung node past the deadline.
 */
import type { Cluster, Redis } from 'ioredis';
import type { StoreConnection } from './connect';

/**
 * Shortest time between two batches, in ms. A batch leaves at the end of its turn once this has
 * passed since the previous one left: while frames stream, each write carries about this long's
 * worth (at 5,000 frames/s, about 5), for at most this much delay on writes no client waits for.
 * After a pause the first batch leaves at the end of its turn.
 */
const BATCH_INTERVAL_MS = 1;

/** The part of a socket corking needs (net.Socket and tls.TLSSocket alike). */
interface Corkable {
  cork(): void;
  uncork(): void;
  readonly destroyed: boolean;
  readonly writable: boolean;
}

/** Corks a connection's sockets for the rest of the current event-loop turn (and, on one Redis, until the previous batch is answered). */
export class TurnBatch {
  /** The sockets corked for the batch being gathered: exactly those are uncorked, even if a reconnect replaced them meanwhile. */
  private corked: Corkable[] | undefined;
  /** A `setImmediate` will end the current turn's gathering. */
  private turnEndScheduled = false;
  /** The newest command of the batch being gathered (one Redis only). */
  private newest: Promise<unknown> | undefined;
  /** The batch sent last is not answered yet (one Redis only): the next one waits for it. */
  private inFlight = false;
  /** When the previous batch left (Date.now()). */
  private releasedAt = 0;
  private intervalTimer: NodeJS.Timeout | undefined;

  constructor(private readonly connection: StoreConnection) {}

  /** Runs `write` (which issues commands on the connection) so that its commands leave with the turn's batch. */
  send<T>(write: () => Promise<T>): Promise<T> {
    this.begin();
    const sent = write();
    if (this.corked && !this.connection.isCluster) this.newest = sent;
    return sent;
  }

  /** Called before a write: the writes from here to the end of the turn leave together. */
  begin(): void {
    if (this.corked) return;
    const corked: Corkable[] = [];
    for (const stream of this.streams()) {
      // A socket being replaced is left alone: its commands fail with it, as they would uncorked.
      if (!stream || stream.destroyed || !stream.writable) continue;
      stream.cork();
      corked.push(stream);
    }
    if (corked.length === 0) return;
    this.corked = corked;
    if (this.turnEndScheduled) return;
    this.turnEndScheduled = true;
    setImmediate(this.turnEnded);
  }

  private readonly turnEnded = (): void => {
    this.turnEndScheduled = false;
    // Else it leaves once the previous batch is answered (see `release`).
    if (!this.inFlight) this.releaseWhenDue();
  };

  /** Sends the gathered batch, or once {@link BATCH_INTERVAL_MS} has passed since the previous one left. */
  private releaseWhenDue(): void {
    if (this.intervalTimer) return;
    const wait = this.releasedAt + BATCH_INTERVAL_MS - Date.now();
    if (wait <= 0) {
      this.release();
      return;
    }
    this.intervalTimer = setTimeout(() => {
      this.intervalTimer = undefined;
      if (this.corked && !this.inFlight && !this.turnEndScheduled) this.release();
    }, wait);
  }

  /** Sends the gathered batch. */
  private release(): void {
    const corked = this.corked ?? [];
    const newest = this.newest;
    this.corked = undefined;
    this.newest = undefined;
    this.releasedAt = Date.now();
    if (newest) {
      this.inFlight = true;
      // Every command settles: answered, failed at its deadline, or failed when the connection closed.
      const answered = (): void => {
        this.inFlight = false;
        // A batch whose turn has ended leaves now (or when due); one still gathering leaves at its turn's end.
        if (this.corked && !this.turnEndScheduled) this.releaseWhenDue();
      };
      newest.then(answered, answered);
    }
    for (const stream of corked) {
      try {
        stream.uncork();
      } catch {
        // A socket that failed meanwhile: its 'close' fails its commands (ioredis), nothing to do here.
      }
    }
  }

  private streams(): ReadonlyArray<Corkable | undefined> {
    if (!this.connection.isCluster) return [(this.connection as Redis).stream];
    return (this.connection as Cluster).nodes('master').map((node) => node.stream);
  }
}
