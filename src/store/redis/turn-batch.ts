/**
 * The commands of one event-loop turn on the store's command connection leave in one socket
 * write. The first write of a turn corks the connection's socket (on a cluster: each master's);
 * a `setImmediate` uncorks it once the turn's I/O callbacks have run, so the frames of every
 * upstream read of one poll batch go to Redis together. Without it each XADD was its own write
 * syscall in llm-ws and its own read and write in redis-server.
 *
 * Corking changes when bytes leave, not what ioredis does: every command is still written to
 * the socket when issued, in order, with its deadline running from then. So commands keep their
 * order with each other (appends, history, busy, XTRIM, release) as on an uncorked socket.
 * ioredis's own auto-pipelining does the same but threw from its `setImmediate` when the socket
 * had closed meanwhile (no offline queue), and on a cluster held commands for a hung node.
 */
import type { Cluster, Redis } from 'ioredis';
import type { StoreConnection } from './connect';

/** The part of a socket corking needs (net.Socket and tls.TLSSocket alike). */
interface Corkable {
  cork(): void;
  uncork(): void;
  readonly destroyed: boolean;
  readonly writable: boolean;
}

/** Corks a connection's sockets for the rest of the current event-loop turn. */
export class TurnBatch {
  /** The sockets corked this turn: exactly those are uncorked, even if a reconnect replaced them meanwhile. */
  private corked: Corkable[] | undefined;

  constructor(private readonly connection: StoreConnection) {}

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
    setImmediate(this.flush);
  }

  private readonly flush = (): void => {
    const corked = this.corked ?? [];
    this.corked = undefined;
    for (const stream of corked) {
      try {
        stream.uncork();
      } catch {
        // A socket that failed meanwhile: its 'close' fails its commands (ioredis), nothing to do here.
      }
    }
  };

  private streams(): ReadonlyArray<Corkable | undefined> {
    if (!this.connection.isCluster) return [(this.connection as Redis).stream];
    return (this.connection as Cluster).nodes('master').map((node) => node.stream);
  }
}
