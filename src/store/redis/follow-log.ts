import { Observable } from 'rxjs';
import { disconnectConnection, type StoreConnection } from './connect';
import { framesOf, type LoggedFrame } from './redis-data';

/** Settings of {@link followLog}. */
export interface FollowLogOptions {
  /**
   * A connection of its own: XREAD BLOCK holds it. It is disconnected when the follow ends. On a
   * cluster, a `Cluster` of its own: the XREAD goes to the master of the key's slot, follows
   * MOVED, and after a failover is sent again to the new master (from the last entry read).
   */
  readonly connection: StoreConnection;
  readonly key: string;
  /** Frames after this seq are emitted. */
  readonly afterSeq: number;
  /** Longest wait for new entries, in ms; an empty batch is emitted when it passes. */
  readonly blockMs: number;
  /** Ends a blocked XREAD of the client with this id (CLIENT UNBLOCK, from another connection; not used on a cluster). */
  readonly unblock: (clientId: number) => Promise<unknown>;
}

/**
 * Follows a session's log as another process appends to it (XREAD BLOCK): emits each batch of
 * frames in order, and an empty batch whenever `blockMs` passes without one, so the subscriber
 * can check that the writer is still alive. Unsubscribing unblocks a pending XREAD and
 * disconnects the connection (Redis would not see it close while the XREAD blocks).
 */
export function followLog(options: FollowLogOptions): Observable<LoggedFrame[]> {
  return new Observable<LoggedFrame[]>((subscriber) => {
    let stopped = false;
    let lastId = `${options.afterSeq}-0`;
    /** The newest seq emitted: a run read after its own frames adds nothing. */
    let upTo = options.afterSeq;
    let clientId: number | undefined;
    void (async () => {
      // On a cluster CLIENT ID would name a connection to some node, not necessarily the XREAD's:
      // there the follow ends by disconnecting, which frees the blocked XREAD on the node too.
      if (!options.connection.isCluster) clientId = (await options.connection.call('CLIENT', 'ID')) as number;
      while (!stopped) {
        const reply = (await options.connection.call(
          'XREAD',
          'COUNT',
          512,
          'BLOCK',
          options.blockMs,
          'STREAMS',
          options.key,
          lastId,
        )) as Array<[string, Array<[string, string[]]>]> | null;
        if (stopped) return;
        const entries = reply?.[0]?.[1] ?? [];
        const newest = entries[entries.length - 1];
        if (newest) lastId = newest[0];
        const frames = framesOf(entries, upTo);
        upTo = frames[frames.length - 1]?.seq ?? upTo;
        subscriber.next(frames);
      }
    })().catch((error: unknown) => {
      if (!stopped) subscriber.error(error);
    });
    return () => {
      stopped = true;
      const { connection } = options;
      if (clientId === undefined) return disconnectConnection(connection);
      void options.unblock(clientId).finally(() => disconnectConnection(connection));
    };
  });
}
