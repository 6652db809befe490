import { randomBytes, randomUUID } from 'node:crypto';
import type { SessionRegistry } from './connection';
import type { Session } from './session';

/** Settings of {@link createSessionRegistry}. */
export interface SessionRegistryOptions {
  /** How long a session with no connection is kept for a resume, in ms. */
  readonly ttlMs: number;
  /** Builds a session; the registry picks its id and resume token. */
  makeSession(sessionId: string, resumeToken: string, principal: unknown): Session;
  /** Told when a session was resumed on a new connection. */
  onResumed?(session: Session): void;
  /** Told when a session expired without a connection. */
  onExpired?(session: Session): void;
}

/** The sessions of one server, with their expiry. */
export interface LocalSessionRegistry extends SessionRegistry {
  readonly size: number;
  all(): IterableIterator<Session>;
  /** Disposes every session (the server stops). */
  disposeAll(): void;
}

/**
 * Keeps sessions in this process. A session without a connection expires after `ttlMs`; one
 * that never said anything goes at once, as there is nothing to resume. Timers exist only for
 * sessions without a connection, so idle connected sessions cost no timer.
 */
export function createSessionRegistry(options: SessionRegistryOptions): LocalSessionRegistry {
  const sessions = new Map<string, Session>();
  const expiries = new Map<string, ReturnType<typeof setTimeout>>();

  const stopExpiry = (session: Session): void => {
    clearTimeout(expiries.get(session.id));
    expiries.delete(session.id);
  };

  const discard = (session: Session): void => {
    stopExpiry(session);
    sessions.delete(session.id);
    session.dispose();
  };

  return {
    get size() {
      return sessions.size;
    },
    all: () => sessions.values(),
    create: (principal) => {
      // 256 random bits: the token is the only proof needed to take over the session.
      const session = options.makeSession(randomUUID(), randomBytes(32).toString('base64url'), principal);
      sessions.set(session.id, session);
      return session;
    },
    find: (sessionId) => sessions.get(sessionId),
    discard,
    attached: stopExpiry,
    detached: (session) => {
      if (session.lastSeq === 0 && !session.busy) return discard(session);
      stopExpiry(session);
      const timer = setTimeout(() => {
        options.onExpired?.(session);
        discard(session);
      }, options.ttlMs);
      timer.unref();
      expiries.set(session.id, timer);
    },
    resumed: (session) => options.onResumed?.(session),
    disposeAll: () => {
      for (const session of [...sessions.values()]) discard(session);
    },
  };
}
