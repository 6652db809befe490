/**
 * The sessions of the Redis store as the core's shared-session parts use them
 * (`SharedSessionRecords`): a new session's persistence, and the loading of one this process has
 * just claimed into persistence hooks, with the ending of a reply its previous writer left
 * unfinished: failed (`reply_interrupted`), or, when the store keeps durable records, kept as
 * `interrupted` with the text of it the records hold.
 */
import type { LoadedSession, SessionRecords, SharedSessionRecords } from '../../core/ports';
import type { ServerMessageInput } from '../../protocol/codecs';
import { interruptedEnding, interruptedText, withInterrupted } from '../records/interrupted';
import { hashToken, type StoredMeta } from './redis-data';
import { RedisPersistence } from './redis-persistence';
import { readMeta } from './restore';
import type { ServerProcess } from './server-process';

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
 * The previous writer went away mid-reply: the client hears so, and the session is idle again.
 * With records, the reply ends as `interrupted` with its text so far (kept in history); without,
 * it fails with `reply_interrupted`.
 */
function endInterrupted(
  node: ServerProcess,
  sessionId: string,
  loaded: LoadedWriter,
  requestId: string,
  send: (message: ServerMessageInput) => void,
): void {
  const { writer, interrupted } = loaded;
  if (interrupted === undefined) {
    send({
      type: 'error',
      data: {
        code: 'reply_interrupted',
        message: 'the server process running this reply went away before it finished: send the message again',
        retryable: true,
        requestId,
      },
    });
    send({ type: 'status', data: { status: 'idle', requestId } });
  } else {
    // The whole stored history (its branches too), with the interrupted reply on the active one.
    if (interrupted !== '') writer.historyChanged(writer.history);
    for (const frame of interruptedEnding(requestId, interrupted)) send(frame);
    writer.records?.replyEnded();
  }
  node.data.setBusy(sessionId, undefined).catch((error: unknown) => node.reportFailure(error));
}

/** The Redis store's sessions for the core (see the module's comment). */
export function redisSessionRecords(node: ServerProcess): SharedSessionRecords {
  return {
    hashToken,
    readMeta: (sessionId) => readMeta(node, sessionId),
    framesAfter: (sessionId, afterSeq) => node.data.framesAfter(sessionId, afterSeq),
    create: (sessionId, resumeToken, principal) => {
      const tokenHash = hashToken(resumeToken);
      const now = Date.now();
      // The record is written with the session's first message: one that only answered controls leaves none.
      const records = node.recordsFor(
        sessionId,
        { tokenHash, principal, createdAt: now, updatedAt: now },
        { lastSeq: 0, history: [], requestIds: [] },
      );
      const writer = new RedisPersistence(node, sessionId, tokenHash, principal, 0, [], [], undefined, records);
      node.writes(sessionId, writer, now);
      if (node.available()) {
        Promise.all([
          node.data.writeMeta(sessionId, tokenHash, principal),
          node.data.claim(sessionId, '', node.nodeId),
        ]).catch((error: unknown) => node.reportFailure(error));
      }
      // Without Redis the session still greets its client; the leases write it once Redis is back.
      return writer;
    },
    load: async (sessionId, meta, clientSeq): Promise<LoadedSession> => {
      const loaded = await loadWriter(node, sessionId, { ...meta, busy: meta.busy }, clientSeq);
      node.writes(sessionId, loaded.writer);
      const { busy } = meta;
      return {
        persistence: loaded.writer,
        storedSeq: loaded.storedSeq,
        durable: node.records !== undefined,
        ...(busy === undefined
          ? {}
          : { endInterrupted: (send) => endInterrupted(node, sessionId, loaded, busy, send) }),
      };
    },
    remove: (sessionId) => {
      if (node.available()) node.data.remove(sessionId).catch((error: unknown) => node.reportFailure(error));
    },
  };
}
