import type {
  ClaimResult,
  Session,
  SessionBudget,
  SessionDirectory,
  SessionStore,
  SessionStoreContext,
} from '../core/ports';
import { createHeldBytesCounter } from '../util/held-bytes';
import { samePrincipal } from '../util/same-principal';
import { secretsEqual } from '../util/secrets-equal';
import { pushToEach } from './push-to-each';

/** The sessions of one server process, with their expiry. */
export interface MemorySessionDirectory extends SessionDirectory {
  /** The session of this process with this id. */
  find(sessionId: string): Session | undefined;
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
      return session;
    },
    find: (sessionId) => sessions.get(sessionId),
    claim,
    end,
    attached: stopExpiry,
    detached: (session) => {
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

/** Sessions in this server process only: nothing to run, and a resume must reach the same process. The default. */
export function memoryStore(): SessionStore {
  return { kind: 'memory', open: (context) => createMemorySessionDirectory(context) };
}
