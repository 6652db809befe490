/**
 * The transport-agnostic server: `makeServer(options)` opens the session store and hands back
 * `opened(transport, principal)`, which an adapter calls for each accepted socket (graphql-ws's
 * `makeServer(...).opened(socket)` seam). Everything about HTTP, upgrades and a socket library
 * stays in the adapter and the facade.
 */
import type { ProtocolError } from '../errors';
import type { ServerMessageInput } from '../protocol/codecs';
import { CloseCode } from '../protocol/codes';
import type { RawFrame } from '../protocol/decode';
import { createConnection, DEFAULT_MAX_CONNECTIONS_PER_SESSION, type ResumeOutcome } from './connection';
import { createFollowerSession } from './follower-session';
import { createIdGenerator, newSessionIdentity } from './ids';
import type {
  Logger,
  RecordsHealth,
  SessionBudget,
  SessionDirectory,
  SessionInit,
  SessionStore,
  StoreHealth,
  Transport,
} from './ports';
import { createSession, type Session, type SessionOptions } from './session';
import { createLocalSessions } from './sessions';
import { createSharedDirectory, isSharedStore } from './shared-directory';
import type { RateLimit } from './token-bucket';
import { DEFAULT_CONCURRENT_MESSAGES } from './waiting-messages';

export { DEFAULT_MAX_CONNECTIONS_PER_SESSION };

/** What every session of a server shares (the store adds each one's identity and state). */
export type SharedSessionOptions = Omit<
  SessionOptions,
  'sessionId' | 'resumeToken' | 'principal' | 'nextMessageId' | 'persistence'
>;

/** What happens, for the facade's events and metrics. Every hook is optional, and called unbound. */
export interface ServerHooks {
  /** A connection was accepted and greeted with a new session. */
  readonly onConnected?: (sessionId: string) => void;
  /** A connection closed, on the session it was on last. */
  readonly onClosed?: (sessionId: string, code: number, reason: string) => void;
  /** A client sent a frame it got wrong (it has been answered with an error). */
  readonly onProtocolError?: (sessionId: string, error: ProtocolError) => void;
  /** What a resume came to. */
  readonly onResume?: (outcome: ResumeOutcome, replayedMessages?: number) => void;
  /** A session was resumed on a new connection. */
  readonly onResumed?: (session: Session) => void;
  /** A session of this process expired without a connection (the memory store only). */
  readonly onExpired?: (session: Session) => void;
}

/** Everything {@link makeServer} needs. */
export interface MakeServerOptions {
  /** Where sessions live: `memoryStore()` or `redisStore()`. Opened by `makeServer`, closed by `close`. */
  readonly store: SessionStore;
  /** What each session is made with. */
  readonly session: SharedSessionOptions;
  /** How long a session outlives its connection, in ms. */
  readonly sessionTtlMs: number;
  /** What this process's sessions may hold together. @default no limit */
  readonly budget?: SessionBudget;
  /** Frames per connection; more are answered with `rate_limited`. Undefined for no limit. */
  readonly rateLimit?: RateLimit;
  /** Connections one session may have at once on this process: a shared resume past it is closed with 4429. @default DEFAULT_MAX_CONNECTIONS_PER_SESSION */
  readonly maxConnectionsPerSession?: number;
  readonly logger: Logger;
  readonly hooks?: ServerHooks;
}

/** What an adapter does with one accepted connection: hand it each frame, and tell it once it closed. */
export interface ConnectionHandler {
  /** One frame from the client: text, or bytes (answered with `unsupported_frame`). */
  receive(data: RawFrame, isBinary: boolean): void;
  /** The socket closed with this code and reason. */
  closed(code: number, reason: string): void;
}

/** A running core: what adapters and the facade call. */
export interface LLMWSCore {
  /**
   * A socket was accepted for `principal`: gives it a session (or closes it with 1013 when the
   * session budget is spent) and returns the handler of its frames.
   */
  opened(transport: Transport, principal: unknown): ConnectionHandler;
  /**
   * Puts `message` into the stream of session `sessionId`, wherever it is held. Resolves false if no
   * such session exists; rejects if a shared store cannot be reached to find out.
   */
  push(sessionId: string, message: ServerMessageInput): Promise<boolean>;
  /**
   * Puts `message` into the stream of every session but `excludeSessionId`, on every process of a
   * shared store. Resolves with how many sessions of this process it went to (also when a shared
   * store cannot be reached to tell the others).
   */
  broadcast(message: ServerMessageInput, excludeSessionId?: string): Promise<number>;
  /**
   * Ends every session of this process: tells each connected client when to come back (`closing`
   * with `retryAfterMs`), cancels running replies and closes the store. The adapter closes the
   * sockets. Resolves once the store is closed.
   */
  close(options?: { readonly retryAfterMs?: number }): Promise<void>;
  /** Resolves once the store can serve (a shared store connected, or gave up waiting). */
  ready(): Promise<void>;
  /** The sessions this process holds now. */
  sessions(): Iterable<Session>;
  /** How many sessions this process holds now. */
  readonly sessionCount: number;
  /** Whether the store takes writes now (`degraded`: some nodes of a clustered store do not answer). */
  health(): StoreHealth;
  /** Nodes of a clustered store that do not answer now (`host:port`); none for other stores. */
  unavailableNodes(): readonly string[];
  /** The records the store keeps conversations in, if any, and whether they answer now. */
  recordsHealth(): RecordsHealth | undefined;
}

/** What a refused connection gets: frames and its close are nobody's business. */
const refusedHandler: ConnectionHandler = { receive: () => undefined, closed: () => undefined };

/**
 * Opens `options.store` and returns the core an adapter calls `opened` on for each socket.
 *
 * ```ts
 * const core = makeServer({ store: memoryStore(), session, sessionTtlMs: 300_000, logger });
 * // in the adapter, per accepted socket:
 * const handler = core.opened(transport, principal);
 * socket.onmessage = (text) => handler.receive(text, false);
 * socket.onclose = (code, reason) => handler.closed(code, reason);
 * ```
 */
export function makeServer(options: MakeServerOptions): LLMWSCore {
  const { hooks = {}, budget, logger } = options;
  // This process's sessions are the core's, whatever the store: it holds there what it makes.
  const sessions = createLocalSessions({
    ttlMs: options.sessionTtlMs,
    logger,
    ...(budget ? { budget } : {}),
    ...(hooks.onExpired ? { onExpired: hooks.onExpired } : {}),
  });
  const makeSession = (init: SessionInit): Session =>
    createSession({ ...options.session, ...init, nextMessageId: createIdGenerator() });
  const newIdentity = newSessionIdentity;
  const opened = options.store.open({
    ttlMs: options.sessionTtlMs,
    replayMaxMessages: options.session.replay.maxMessages,
    sessions,
    logger,
    makeSession,
    newIdentity,
  });
  // A shared store keeps records and coordination: the core keeps its sessions on them.
  const directory: SessionDirectory = isSharedStore(opened)
    ? createSharedDirectory(
        {
          sessions,
          logger,
          makeSession,
          newIdentity,
          makeFollower: (init) =>
            createFollowerSession(
              {
                replay: options.session.replay,
                backpressure: options.session.backpressure,
                logger,
                nextMessageId: createIdGenerator(),
              },
              init,
            ),
        },
        opened,
      )
    : opened;
  // What every connection shares, built once: an idle connection should cost its own fields only.
  const connectionShared = {
    directory,
    sessions,
    rateLimit: options.rateLimit,
    maxConnectionsPerSession: options.maxConnectionsPerSession ?? DEFAULT_MAX_CONNECTIONS_PER_SESSION,
    concurrentMessages: options.session.concurrentMessages ?? DEFAULT_CONCURRENT_MESSAGES,
    logger,
    onProtocolError: hooks.onProtocolError,
    onResume: hooks.onResume,
    onResumed: hooks.onResumed,
    onClosed: hooks.onClosed,
  };

  return {
    opened: (transport, principal) => {
      if (!sessions.admit()) {
        // Never an out-of-memory: a client told to come back later costs nothing.
        transport.close(CloseCode.TryAgainLater, 'server at its session budget: try again later');
        return refusedHandler;
      }
      const connection = createConnection({ ...connectionShared, transport, principal });
      hooks.onConnected?.(connection.session.id);
      return connection;
    },
    // Async so that a throw becomes a rejection, as `push` promises.
    push: async (sessionId, message) =>
      sessions.push(sessionId, message) || (directory.push?.(sessionId, message) ?? false),
    broadcast: async (message, excludeSessionId) => {
      const sent = sessions.broadcast(message, excludeSessionId);
      await directory.broadcastToOthers?.(message, excludeSessionId);
      return sent;
    },
    close: async (closeOptions = {}) => {
      if (closeOptions.retryAfterMs !== undefined) {
        const closing: ServerMessageInput = {
          type: 'closing',
          data: { reason: 'server stopping', retryAfterMs: closeOptions.retryAfterMs },
        };
        for (const session of sessions.values()) if (session.attached) session.sendDirect(closing);
      }
      await directory.close();
    },
    ready: async () => directory.ready?.(),
    sessions: () => sessions.values(),
    get sessionCount() {
      return sessions.size;
    },
    health: () => {
      const status = directory.health();
      return status === 'ok' && (directory.unavailableNodes?.().length ?? 0) > 0 ? 'degraded' : status;
    },
    unavailableNodes: () => directory.unavailableNodes?.() ?? [],
    recordsHealth: () => directory.recordsHealth?.(),
  };
}
