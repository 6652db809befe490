import type { Redis } from 'ioredis';
import { Observable } from 'rxjs';
import { framesOf, type LoggedFrame } from './redis-data';

/** Settings of {@link followLog}. */
export interface FollowLogOptions {
  /** A connection of its own: XREAD BLOCK holds it. It is disconnected when the follow ends. */
  readonly connection: Redis;
  readonly key: string;
  /** Frames after this seq are emitted. */
  readonly afterSeq: number;
  /** Longest wait for new entries, in ms; an empty batch is emitted when it passes. */
  readonly blockMs: number;
  /** Ends a blocked XREAD of the client with this id (CLIENT UNBLOCK, from another connection). */
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
    let clientId: number | undefined;
    void (async () => {
      clientId = (await options.connection.call('CLIENT', 'ID')) as number;
      while (!stopped) {
        const reply = (await options.connection.call('XREAD', 'COUNT', 512, 'BLOCK', options.blockMs, 'STREAMS', options.key, lastId)) as
          | Array<[string, Array<[string, string[]]>]>
          | null;
        if (stopped) return;
        const entries = reply?.[0]?.[1] ?? [];
        const newest = entries[entries.length - 1];
        if (newest) lastId = newest[0];
        subscriber.next(framesOf(entries));
      }
    })().catch((error: unknown) => {
      if (!stopped) subscriber.error(error);
    });
    return () => {
      stopped = true;
      const { connection } = options;
      if (clientId === undefined) return connection.disconnect();
      options.unblock(clientId).finally(() => connection.disconnect());
    };
  });
}
