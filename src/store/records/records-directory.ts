/**
 * Sessions kept as records (SQLite, PostgreSQL) by one server process: the process holds a
 * session in memory while a connection is on it or its reply runs, as the memory store does, and
 * writes every change through to the records; a resume of a session it no longer holds (expired
 * from memory, or written by a process that stopped or died) loads it from them. A reply that was
 * running when its process went away ends as `interrupted`, its text so far kept in history.
 */
import type {
  ClaimResult,
  ConversationCatalog,
  Session,
  SessionDirectory,
  SessionRecords,
  SessionStoreContext,
} from '../../core/ports';
import type { HistoryMessage } from '../../protocol/codecs';
import { CloseCode } from '../../protocol/codes';
import { samePrincipal } from '../../util/same-principal';
import { interruptedEnding, interruptedText, withInterrupted } from './interrupted';
import { RecordsPersistence, type RecordsHost } from './records-persistence';
import { hashToken } from './token-hash';

/** How a session is asked for: by its resume token, by its principal opening it by id, or by the server (a push). */
type Asked =
  | { readonly by: 'token'; readonly resumeToken: string; readonly principal: unknown }
  | { readonly by: 'principal'; readonly principal: unknown }
  | { readonly by: 'server' };

/** Opens a directory of sessions kept in `records` (which it closes when the server stops). */
export function createRecordsDirectory(context: SessionStoreContext, records: SessionRecords): SessionDirectory {
  const { logger, sessions } = context;
  let closing = false;
  let failures = 0;
  const host: RecordsHost = {
    records,
    available: () => true,
    reportFailure: (error) => {
      // One line per burst, not per frame.
      if (failures++ % 100 === 0) logger.error({ err: error, store: records.kind }, 'a session record write failed');
    },
    get closing() {
      return closing;
    },
  };
  const create = (principal: unknown): Session => {
    const identity = context.newIdentity();
    const now = Date.now();
    const meta = { tokenHash: hashToken(identity.resumeToken), principal, createdAt: now, updatedAt: now };
    const session = context.makeSession({
      ...identity,
      principal,
      persistence: new RecordsPersistence(host, identity.sessionId, meta, 0, [], []),
    });
    sessions.hold(session);
    return session;
  };
  /** The session from the records, held here from now on, with the frames after `clientSeq` (none when not given). */
  const load = async (sessionId: string, asked: Asked, clientSeq: number | undefined): Promise<ClaimResult> => {
    const stored = await records.read(sessionId);
    if (!stored) return { outcome: 'session_lost' };
    const lastSeq = clientSeq ?? stored.lastSeq;
    const { meta } = stored;
    if (asked.by !== 'server') {
      const presented = asked.by === 'token' ? hashToken(asked.resumeToken) : undefined;
      const refused = sessions.refusal(meta.tokenHash, presented, meta.principal, asked.principal);
      // Opened by id: another principal's conversation is not found.
      if (refused) return asked.by === 'token' ? { outcome: refused } : { outcome: 'session_lost' };
    }
    // A client past what reached the records (frames lost with the process) starts from what is there.
    const from = Math.min(lastSeq, stored.lastSeq);
    const range = await records.framesAfter(sessionId, from);
    if ('gap' in range) return { outcome: 'resume_gap', oldestHeld: range.gap.oldestHeld };
    let history: readonly HistoryMessage[] = stored.history;
    let partial = '';
    if (meta.busy) {
      const reply = await records.framesAfter(sessionId, meta.busy.fromSeq - 1);
      partial = interruptedText('frames' in reply ? reply.frames : range.frames, meta.busy.requestId);
      history = withInterrupted(history, meta.busy.requestId, partial);
    }
    const resumeToken = asked.by === 'token' ? asked.resumeToken : context.newIdentity().resumeToken;
    const persistence = new RecordsPersistence(
      host,
      sessionId,
      undefined,
      Math.max(stored.lastSeq, lastSeq),
      history,
      stored.requestIds,
      meta.usage,
    );
    const session = context.makeSession({ sessionId, resumeToken, principal: meta.principal, persistence });
    sessions.hold(session);
    if (asked.by !== 'token') persistence.write(() => records.setToken(sessionId, hashToken(resumeToken)));
    if (meta.busy) {
      if (partial !== '') persistence.historyChanged(history);
      for (const frame of interruptedEnding(meta.busy.requestId, partial)) session.send(frame);
      persistence.replyEnded();
    }
    // The client saw frames that never reached the records: it gets the history as they hold it.
    if (lastSeq > stored.lastSeq) session.send({ type: 'history', data: { messages: [...session.history()] } });
    return { outcome: 'resumed', session, replay: sessions.replayAfter(session, range.frames, lastSeq) };
  };

  /** The session from this process's memory, else from the records. */
  const claim = (sessionId: string, asked: Asked, lastSeq: number | undefined, share: boolean): Promise<ClaimResult> =>
    // One at a time per session: two quick reconnects must not both load it.
    sessions.oneAtATime(sessionId, async () => {
      const held = sessions.get(sessionId);
      if (!held) return load(sessionId, asked, lastSeq);
      switch (asked.by) {
        case 'token': {
          const result = sessions.resume(held, asked.resumeToken, lastSeq ?? held.lastSeq, asked.principal);
          // As the memory store: the frames are gone from the one copy that had them.
          if (result.outcome === 'resume_gap' && !(share && held.attached)) sessions.drop(held);
          return result;
        }
        case 'principal':
          return samePrincipal(held.principal, asked.principal)
            ? { outcome: 'resumed', session: held, replay: [] }
            : { outcome: 'session_lost' };
        case 'server':
          return { outcome: 'resumed', session: held, replay: [] };
      }
    });

  /** The stored session if it is `principal`'s. */
  const own = async (principal: unknown, id: string): Promise<boolean> => {
    const stored = await records.read(id);
    return stored !== undefined && samePrincipal(stored.meta.principal, principal);
  };

  const conversations: ConversationCatalog = {
    list: (principal, page) => records.list(principal, page),
    open: (principal, id) => claim(id, { by: 'principal', principal }, undefined, false),
    rename: async (principal, id, title) => {
      if (!(await own(principal, id))) return false;
      await records.rename(id, title, Date.now());
      return true;
    },
    remove: async (principal, id) => {
      if (!(await own(principal, id))) return false;
      const held = sessions.get(id);
      if (held) {
        held.closeConnection(CloseCode.ConversationDeleted, 'the conversation was deleted');
        sessions.drop(held);
      }
      await records.remove(id);
      return true;
    },
  };

  return {
    create,
    claim: (sessionId, resumeToken, lastSeq, options) =>
      claim(sessionId, { by: 'token', resumeToken, principal: options?.principal }, lastSeq, options?.share === true),
    end: (session) => sessions.drop(session),
    detached: (session) => sessions.keepDetached(session),
    conversations,
    push: async (sessionId, message) => {
      const result = await claim(sessionId, { by: 'server' }, undefined, false);
      if (result.outcome !== 'resumed') return false;
      result.session.send(message);
      // Loaded for the push alone: it expires like any session without a connection.
      if (!result.session.attached) sessions.keepDetached(result.session);
      return true;
    },
    // The records are the store: what they say is the store's health.
    health: () => records.health?.() ?? 'ok',
    recordsHealth: () => ({ kind: records.kind, status: records.health?.() ?? 'ok' }),
    close: async () => {
      closing = true;
      for (const session of [...sessions.values()]) sessions.drop(session);
      await records.close();
    },
  };
}
