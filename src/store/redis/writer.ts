/**
 * Making this process the writer of a session it has just claimed in Redis: its state is loaded
 * into persistence hooks, and a reply its previous writer left unfinished is failed.
 */
import type { Session } from '../../core/ports';
import type { StoredMeta } from './redis-data';
import type { RedisNode } from './redis-node';
import { RedisPersistence } from './redis-persistence';

/** What this process needs to write a session: its history, answered ids and seq (at least `atLeastSeq`). */
export async function loadWriter(
  node: RedisNode,
  sessionId: string,
  meta: StoredMeta,
  atLeastSeq: number,
): Promise<RedisPersistence> {
  const [history, requestIds, storedSeq] = await Promise.all([
    node.data.readHistory(sessionId),
    node.data.requestIds(sessionId),
    node.data.lastSeq(sessionId),
  ]);
  return new RedisPersistence(
    node,
    sessionId,
    meta.tokenHash,
    meta.principal,
    Math.max(storedSeq, atLeastSeq),
    history,
    requestIds,
  );
}

/**
 * Makes a session object of a session this process has just claimed and holds it as its
 * writer. `clientSeq`: a client ahead of the log (Redis lost entries) must not see seqs it
 * already has reused.
 */
export async function adopt(
  node: RedisNode,
  sessionId: string,
  resumeToken: string,
  meta: StoredMeta,
  clientSeq = 0,
): Promise<Session> {
  const writer = await loadWriter(node, sessionId, meta, clientSeq);
  const session = node.context.makeSession({ sessionId, resumeToken, principal: meta.principal, persistence: writer });
  node.holdAsWriter(session, writer);
  if (meta.busy !== undefined) failInterrupted(node, session, meta.busy);
  return session;
}

/** The previous writer died mid-reply: the client hears so, and the session is idle again. */
export function failInterrupted(node: RedisNode, session: Session, requestId: string): void {
  session.send({
    type: 'error',
    data: {
      code: 'reply_interrupted',
      message: 'the server process running this reply went away before it finished: send the message again',
      retryable: true,
      requestId,
    },
  });
  session.send({ type: 'status', data: { status: 'idle', requestId } });
  node.data.setBusy(session.id, undefined).catch((error: unknown) => node.reportFailure(error));
}
