/**
 * Making this process the writer of a session it has just claimed in Redis: its state is loaded
 * into persistence hooks, and a reply its previous writer left unfinished is ended: failed
 * (`reply_interrupted`), or, when the store keeps durable records, kept as `interrupted` with the
 * text of it the records hold.
 */
import type { Session, SessionRecords } from '../../core/ports';
import { interruptedEnding, interruptedText, withInterrupted } from '../records/interrupted';
import type { StoredMeta } from './redis-data';
import type { ServerProcess } from './server-process';
import { RedisPersistence } from './redis-persistence';

/** A loaded writer, and what its previous writer left unfinished. */
export interface LoadedWriter {
  readonly writer: RedisPersistence;
  /** The seq of the newest entry of the log in Redis (the writer goes on after `atLeastSeq` if that is later). */
  readonly storedSeq: number;
  /**
   * The text the records hold of the reply `meta.busy` names (kept in the writer's history when
   * not ''); none without records, or when no reply was running.
   */
  readonly interrupted?: string;
}

/** The text of reply `requestId` so far, as the records hold it (its frames since it started). */
async function recordedText(records: SessionRecords, sessionId: string, requestId: string): Promise<string> {
  const stored = await records.read(sessionId);
  const busy = stored?.meta.busy;
  const fromSeq = busy?.requestId === requestId ? busy.fromSeq : 1;
  const range = await records.framesAfter(sessionId, fromSeq - 1);
  return 'frames' in range ? interruptedText(range.frames, requestId) : '';
}

/** What this process needs to write a session: its history, answered ids and seq (at least `atLeastSeq`). */
export async function loadWriter(
  node: ServerProcess,
  sessionId: string,
  meta: StoredMeta,
  atLeastSeq: number,
): Promise<LoadedWriter> {
  const { records } = node;
  // Records that do not answer must not keep the session from its new writer: the reply then fails as without them.
  const recorded =
    records && meta.busy !== undefined
      ? recordedText(records, sessionId, meta.busy).catch((error: unknown) => {
          node.context.logger.warn({ err: error, sessionId }, 'the records did not give the interrupted reply');
          return undefined;
        })
      : undefined;
  const [stored, requestIds, storedSeq, interrupted] = await Promise.all([
    node.data.readHistory(sessionId),
    node.data.requestIds(sessionId),
    node.data.lastSeq(sessionId),
    recorded,
  ]);
  const history =
    interrupted !== undefined && meta.busy !== undefined ? withInterrupted(stored, meta.busy, interrupted) : stored;
  const now = Date.now();
  const state = {
    lastSeq: Math.max(storedSeq, atLeastSeq),
    history,
    requestIds,
    ...(meta.usage ? { usage: meta.usage } : {}),
  };
  const writer = new RedisPersistence(
    node,
    sessionId,
    meta.tokenHash,
    meta.principal,
    state.lastSeq,
    history,
    requestIds,
    meta.usage,
    // Written (if the records lack it: a session from before they were added) with the first write.
    node.recordsFor(
      sessionId,
      { tokenHash: meta.tokenHash, principal: meta.principal, createdAt: now, updatedAt: now },
      state,
    ),
  );
  return { writer, storedSeq, ...(interrupted === undefined ? {} : { interrupted }) };
}

/**
 * Makes a session object of a session this process has just claimed and holds it as its
 * writer. `clientSeq`: a client ahead of the log (Redis lost entries) must not see seqs it
 * already has reused; with records, it is given the history they keep.
 */
export async function adopt(
  node: ServerProcess,
  sessionId: string,
  resumeToken: string,
  meta: StoredMeta,
  clientSeq = 0,
): Promise<Session> {
  const loaded = await loadWriter(node, sessionId, meta, clientSeq);
  const { writer } = loaded;
  const session = node.context.makeSession({ sessionId, resumeToken, principal: meta.principal, persistence: writer });
  node.holdAsWriter(session, writer);
  if (meta.busy !== undefined) endInterrupted(node, session, loaded, meta.busy);
  // The client saw frames that never reached the store: it gets the history as the records keep it.
  if (node.records && clientSeq > loaded.storedSeq)
    session.send({ type: 'history', data: { messages: [...session.history()] } });
  return session;
}

/**
 * The previous writer went away mid-reply: the client hears so, and the session is idle again.
 * With records, the reply ends as `interrupted` with its text so far (kept in history); without,
 * it fails with `reply_interrupted`.
 */
export function endInterrupted(node: ServerProcess, session: Session, loaded: LoadedWriter, requestId: string): void {
  const { writer, interrupted } = loaded;
  if (interrupted === undefined) return failInterrupted(node, session, requestId);
  // The whole stored history (its branches too), with the interrupted reply on the active one.
  if (interrupted !== '') writer.historyChanged(writer.history);
  for (const frame of interruptedEnding(requestId, interrupted)) session.send(frame);
  node.data.setBusy(session.id, undefined).catch((error: unknown) => node.reportFailure(error));
  writer.records?.replyEnded();
}

/** The previous writer died mid-reply: the client hears so, and the session is idle again. */
export function failInterrupted(node: ServerProcess, session: Session, requestId: string): void {
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
