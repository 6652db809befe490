/**
 * Where sessions live: in this process (the default), or in a store several server processes
 * share, so a client can reconnect to any of them.
 */
import type { ServerMessageInput } from '../protocol/codecs';
import type { SessionRegistry } from '../server/connection';
import type { Logger } from '../server/logger';
import type { RemoteWriter, Session, SessionPersistence } from '../server/session';

/** What a store passes to make a session object in this process. */
export interface SessionInit {
  readonly sessionId: string;
  readonly resumeToken: string;
  readonly principal: unknown;
  /** Set by a shared store: where the session's state is kept. */
  readonly persistence?: SessionPersistence;
  /** Set by a shared store when another process is the session's writer. */
  readonly remoteWriter?: RemoteWriter;
  /** For a follower: the seq the stream stands at. */
  readonly startSeq?: number;
}

/** How much this process's sessions may hold together. */
export interface SessionBudget {
  /** Sessions held at once. */
  readonly maxSessions: number;
  /** Bytes of history and replay held by all sessions together (see `Session.heldBytes`). */
  readonly maxBytes: number;
}

/** What a server gives the store it opens. */
export interface SessionStoreContext {
  /** How long a session outlives its connection, in ms. */
  readonly ttlMs: number;
  /** Replay frames a session keeps (a shared store trims its log to this many). */
  readonly replayMaxMessages: number;
  /** What the sessions held by this process may hold together. @default no limit */
  readonly budget?: SessionBudget;
  makeSession(init: SessionInit): Session;
  readonly logger: Logger;
  /** Told when a session was resumed on a new connection. */
  onResumed?(session: Session): void;
  /** Told when a session of this process expired without a connection (the memory store only). */
  onExpired?(session: Session): void;
}

/**
 * Whether the store can take writes: always for memory, and while Redis answers for Redis.
 * `degraded`: a Redis Cluster serves, but some masters do not answer (their slots' sessions are unavailable).
 */
export type StoreHealth = 'ok' | 'degraded' | 'unavailable';

/** The sessions of one server, as its store keeps them. */
export interface SessionDirectory extends SessionRegistry {
  /** Sessions held by this process now. */
  readonly size: number;
  /** Sessions held by this process now. */
  all(): IterableIterator<Session>;
  /**
   * Puts `message` into the stream of session `sessionId`, wherever it is held. Resolves false
   * if no such session exists; rejects if a shared store cannot be reached to find out.
   */
  sendTo(sessionId: string, message: ServerMessageInput): Promise<boolean>;
  /**
   * Puts `message` into the stream of every session held by any process, but
   * `excludeSessionId`. Resolves with how many sessions of this process it went to (also when
   * a shared store cannot be reached to tell the others).
   */
  broadcast(message: ServerMessageInput, excludeSessionId?: string): Promise<number>;
  health(): StoreHealth;
  /**
   * Nodes of a clustered store that do not answer now (`host:port`): the sessions in their slots
   * are unavailable while the others are served. A store of one node does not have it.
   */
  unavailableNodes?(): readonly string[];
  /**
   * Makes room for one more session within the budget (the memory store drops the least recently
   * detached sessions first). False when there is none: the new connection is refused (1013).
   * A store without it admits every connection.
   */
  admit?(): boolean;
  /** Resolves once the store can serve (a shared store connected, or gave up waiting); `start` awaits it. */
  ready?(): Promise<void>;
  /** The server stops: every session of this process ends (a shared store keeps their state). */
  close(): Promise<void>;
}

/**
 * Keeps sessions for a server: {@link memoryStore} (the default) or `redisStore` for several
 * processes behind one address.
 */
export interface SessionStore {
  /** For logs and `/health`: `memory` or `redis`. */
  readonly kind: string;
  /** Opens the store for one server; the server closes what it returns when it stops. */
  open(context: SessionStoreContext): SessionDirectory;
}
