import type {
  ClaimResult,
  ConversationCatalog,
  ConversationSummary,
  Session,
  SessionBudget,
  SessionDirectory,
  SessionStore,
  SessionStoreContext,
} from '../core/ports';
import { CloseCode } from '../protocol/codes';
import { createHeldBytesCounter } from '../util/held-bytes';
import { samePrincipal } from '../util/same-principal';
import { secretsEqual } from '../util/secrets-equal';
import { pushToEach } from './push-to-each';
import { decodeCursor, encodeCursor, titleOf } from './records/summary';

/** The sessions of one server process, with their expiry. */
export interface MemorySessionDirectory extends SessionDirectory {
  /** The session of this process with this id. */
  find(sessionId: string): Session | undefined;
  /** Holds `session` (one a store loaded from its records) as if it had been created here. */
  hold(session: Session): void;
  readonly conversations: ConversationCatalog;
}

/**
 * Keeps sessions in this process. A session without a connection expires after `ttlMs`; one
 * that never said anything goes at once, as there is nothing to resume. Timers exist only for
 * sessions without a connection, so idle connected sessions cost no timer.
 *
 * With a `budget`, the sessions together stay within its count and bytes: past either, the
 * sessions detached longest ago are dropped first (a resume of one gets `session_lost`), and a
 * new session is refused (`admit` is false) when dropping every detached one is not enough.
 */
export function createMemorySessionDirectory(
  context: Omit<SessionStoreContext, 'replayMaxMessages' | 'makeFollower' | 'logger'> & {
    logger?: SessionStoreContext['logger'];
  },
): MemorySessionDirectory {
  const sessions = new Map<string, Session>();
  const expiries = new Map<string, ReturnType<typeof setTimeout>>();
  /** Sessions without a connection, the one detached longest ago first: the order they are dropped in. */
  const detachedOrder = new Map<string, Session>();
  const budget: SessionBudget = context.budget ?? { maxSessions: Infinity, maxBytes: Infinity };

  const stopExpiry = (session: Session): void => {
    clearTimeout(expiries.get(session.id));
    expiries.delete(session.id);
    detachedOrder.delete(session.id);
  };

  const end = (session: Session): void => {
    stopExpiry(session);
    sessions.delete(session.id);
    session.end();
  };

  const held = createHeldBytesCounter(() => sessions);
  const catalog = createMemoryCatalog(sessions, end);

  /**
   * Drops detached sessions, longest detached first, until `room` more sessions fit within the
   * budget; returns whether they do. Done only when a session is created or detached.
   */
  const makeRoom = (room: number): boolean => {
    const unlimitedBytes = budget.maxBytes === Infinity;
    let bytes = unlimitedBytes ? 0 : held.read();
    const fits = (): boolean =>
      sessions.size + room <= budget.maxSessions && (unlimitedBytes || bytes <= budget.maxBytes);
    let dropped = 0;
    for (const session of detachedOrder.values()) {
      if (fits()) break;
      if (!unlimitedBytes) {
        bytes -= session.heldBytes;
        held.dropped(session.heldBytes);
      }
      end(session);
      dropped++;
    }
    if (dropped > 0) {
      context.logger?.warn(
        { dropped, maxSessions: budget.maxSessions, maxBytes: budget.maxBytes },
        'dropped detached sessions, least recently used first: over the session budget',
      );
    }
    return fits();
  };

  const claim = (
    sessionId: string,
    resumeToken: string,
    lastSeq: number,
    options?: { readonly share?: boolean; readonly principal?: unknown },
  ): ClaimResult => {
    const session = sessions.get(sessionId);
    if (!session) return { outcome: 'session_lost' };
    if (!secretsEqual(session.resumeToken, resumeToken)) return { outcome: 'forbidden' };
    if (!samePrincipal(session.principal, options?.principal)) return { outcome: 'other_principal' };
    const replay = session.replaySince(lastSeq);
    if ('gap' in replay) {
      // A connection joining too late leaves the session to the ones on it.
      if (options?.share && session.attached) return { outcome: 'resume_gap', oldestHeld: replay.gap.oldestHeld };
      end(session);
      return { outcome: 'resume_gap', oldestHeld: replay.gap.oldestHeld };
    }
    return { outcome: 'resumed', session, replay: replay.frames };
  };

  return {
    get size() {
      return sessions.size;
    },
    all: () => sessions.values(),
    create: (principal) => {
      const session = context.makeSession({ ...context.newIdentity(), principal });
      sessions.set(session.id, session);
      catalog.touched(session.id);
      return session;
    },
    find: (sessionId) => sessions.get(sessionId),
    hold: (session) => {
      sessions.set(session.id, session);
      catalog.touched(session.id);
    },
    conversations: catalog,
    claim,
    end,
    attached: (session) => {
      catalog.touched(session.id);
      stopExpiry(session);
    },
    detached: (session) => {
      catalog.touched(session.id);
      if (session.lastSeq === 0 && !session.busy) return end(session);
      stopExpiry(session);
      const timer = setTimeout(() => {
        context.onExpired?.(session);
        end(session);
      }, context.ttlMs);
      timer.unref();
      expiries.set(session.id, timer);
      detachedOrder.set(session.id, session);
      makeRoom(0);
    },
    admit: () => makeRoom(1),
    resumed: (session) => context.onResumed?.(session),
    // Async so that a throw becomes a rejection, as the port promises; nothing here waits.
    // eslint-disable-next-line @typescript-eslint/require-await
    push: async (sessionId, message) => {
      const session = sessions.get(sessionId);
      session?.send(message);
      return session !== undefined;
    },
    // eslint-disable-next-line @typescript-eslint/require-await
    broadcast: async (message, excludeSessionId) => pushToEach(sessions.values(), message, excludeSessionId),
    health: () => 'ok',
    // eslint-disable-next-line @typescript-eslint/require-await
    close: async () => {
      for (const session of [...sessions.values()]) end(session);
    },
  };
}

/**
 * The conversations of the sessions this process holds: created and last touched (created,
 * attached, detached) times and titles given by `rename` are kept beside the sessions.
 */
function createMemoryCatalog(
  sessions: ReadonlyMap<string, Session>,
  end: (session: Session) => void,
): ConversationCatalog & { touched(sessionId: string): void } {
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
        for (const key of times.keys()) if (!sessions.has(key)) times.delete(key);
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
      end(session);
      times.delete(id);
      return true;
    },
  };
}

/** Sessions in this server process only: nothing to run, and a resume must reach the same process. The default. */
export function memoryStore(): SessionStore {
  return { kind: 'memory', open: (context) => createMemorySessionDirectory(context) };
}
