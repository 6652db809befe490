import type {
  ClaimResult,
  ConversationCatalog,
  ConversationSummary,
  LocalSessions,
  Session,
  SessionDirectory,
  SessionStore,
  SessionStoreContext,
} from '../core/ports';
import { CloseCode } from '../protocol/codes';
import { samePrincipal } from '../util/same-principal';
import { decodeCursor, encodeCursor, titleOf } from './records/summary';

/** The memory store's directory: its catalog is always there. */
export interface MemorySessionDirectory extends SessionDirectory {
  readonly conversations: ConversationCatalog;
}

/**
 * Keeps sessions in this process: the session objects are the records. A session without a
 * connection stays in the core's sessions until its TTL (see `LocalSessions.keepDetached`, which
 * also keeps them within the session budget); a resume finds it there, or nothing.
 */
export function createMemorySessionDirectory(
  context: Pick<SessionStoreContext, 'sessions' | 'makeSession' | 'newIdentity'>,
): MemorySessionDirectory {
  const { sessions } = context;
  const catalog = createMemoryCatalog(sessions);

  const claim = (
    sessionId: string,
    resumeToken: string,
    lastSeq: number,
    options?: { readonly share?: boolean; readonly principal?: unknown },
  ): ClaimResult => {
    const session = sessions.get(sessionId);
    if (!session) return { outcome: 'session_lost' };
    const result = sessions.resume(session, resumeToken, lastSeq, options?.principal);
    // Frames the client missed are gone, and the session is its record: no one can resume it any
    // more. A connection joining too late leaves it to the ones on it.
    if (result.outcome === 'resume_gap' && !(options?.share && session.attached)) sessions.drop(session);
    return result;
  };

  return {
    create: (principal) => {
      const session = context.makeSession({ ...context.newIdentity(), principal });
      sessions.hold(session);
      catalog.touched(session.id);
      return session;
    },
    conversations: catalog,
    claim,
    end: (session) => sessions.drop(session),
    attached: (session) => catalog.touched(session.id),
    detached: (session) => {
      catalog.touched(session.id);
      sessions.keepDetached(session);
    },
    health: () => 'ok',
    // eslint-disable-next-line @typescript-eslint/require-await
    close: async () => {
      for (const session of [...sessions.values()]) sessions.drop(session);
    },
  };
}

/**
 * The conversations of the sessions this process holds: created and last touched (created,
 * attached, detached) times and titles given by `rename` are kept beside the sessions.
 */
function createMemoryCatalog(sessions: LocalSessions): ConversationCatalog & { touched(sessionId: string): void } {
  const times = new Map<string, { createdAt: number; updatedAt: number; title?: string }>();
  const own = (principal: unknown, id: string): Session | undefined => {
    const session = sessions.get(id);
    return session && samePrincipal(session.principal, principal) ? session : undefined;
  };
  const summary = (session: Session): ConversationSummary => {
    const kept = times.get(session.id);
    const history = session.history();
    return {
      id: session.id,
      title: kept?.title ?? titleOf(history),
      createdAt: kept?.createdAt ?? 0,
      updatedAt: kept?.updatedAt ?? 0,
      messageCount: history.length,
      ...(session.usage ? { usage: session.usage } : {}),
    };
  };
  return {
    touched: (id) => {
      // Forget the times of sessions gone since (expired, dropped): done here, where it costs nothing extra.
      if (times.size > sessions.size * 2 + 16)
        for (const key of times.keys()) if (!sessions.get(key)) times.delete(key);
      const now = Date.now();
      const kept = times.get(id);
      if (kept) kept.updatedAt = now;
      else times.set(id, { createdAt: now, updatedAt: now });
    },
    // Async so that a throw becomes a rejection, as the port promises; nothing here waits.
    // eslint-disable-next-line @typescript-eslint/require-await
    list: async (principal, { limit, cursor }) => {
      const after = decodeCursor(cursor);
      const all = [...sessions.values()]
        .filter((session) => session.lastSeq > 0 && samePrincipal(session.principal, principal))
        .map(summary)
        .sort((a, b) => b.updatedAt - a.updatedAt || (a.id < b.id ? -1 : 1))
        .filter((c) => !after || c.updatedAt < after.updatedAt || (c.updatedAt === after.updatedAt && c.id > after.id));
      const page = all.slice(0, limit);
      const last = page[page.length - 1];
      return all.length > limit && last
        ? { conversations: page, nextCursor: encodeCursor(last.updatedAt, last.id) }
        : { conversations: page };
    },
    // eslint-disable-next-line @typescript-eslint/require-await
    open: async (principal, id) => {
      const session = own(principal, id);
      return session ? { outcome: 'resumed', session, replay: [] } : { outcome: 'session_lost' };
    },
    // eslint-disable-next-line @typescript-eslint/require-await
    rename: async (principal, id, title) => {
      const session = own(principal, id);
      const kept = times.get(id);
      if (!session || !kept) return false;
      kept.title = title;
      kept.updatedAt = Date.now();
      return true;
    },
    // eslint-disable-next-line @typescript-eslint/require-await
    remove: async (principal, id) => {
      const session = own(principal, id);
      if (!session) return false;
      session.closeConnection(CloseCode.ConversationDeleted, 'the conversation was deleted');
      sessions.drop(session);
      times.delete(id);
      return true;
    },
  };
}

/** Sessions in this server process only: nothing to run, and a resume must reach the same process. The default. */
export function memoryStore(): SessionStore {
  return { kind: 'memory', open: (context) => createMemorySessionDirectory(context) };
}
