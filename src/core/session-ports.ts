/**
 * The core's ports, part one: what a session is to the world around it. A transport (one
 * connection's socket), a logger, a session and how it tells a store of its changes
 * (`SessionPersistence`), and this process's session table (`LocalSessions`). Imports nothing of
 * the core. Read through `./ports.ts`, which stores import alone of the core.
 */
import type { HistoryMessage, ServerMessageInput, SessionMessageIn, SessionStatus, Usage } from '../protocol/codecs';

// ---- Plain value types of the core ---------------------------------------------------------------

/** When a slow reader makes the server hold back. */
export interface BackpressureLimits {
  /** Above this many buffered bytes, chunks are coalesced and the model stream is not read. */
  readonly highWaterMark: number;
  /** Above this many (plus the largest single frame in the buffer), the connection is closed with 4408 (the session stays resumable). */
  readonly hardLimit: number;
}

/** Bounds of a replay log: the oldest messages go first once either is passed. */
export interface ReplayLimits {
  /** Entries: a frame, or up to 1,024 consecutive chunks of one reply kept as one. */
  readonly maxMessages: number;
  readonly maxBytes: number;
}

/** What a resume from `lastSeq` can get: the frames after it, or nothing because some are gone. */
export type ReplayResult = { readonly frames: readonly string[] } | { readonly gap: { readonly oldestHeld: number } };

// ---- Logger --------------------------------------------------------------------------------------

/** One level of a pino-compatible logger: `(fields, message)` or `(message)`. */
export interface LogFn {
  (fields: object, message?: string): void;
  (message: string): void;
}

/**
 * Where the server reports what happens: pino (or any logger with pino's call forms), a child of
 * one, `console`, `consoleLogger` or `silentLogger`. When it has `child`, llm-ws logs a session's
 * events through `child({ sessionId })`.
 */
export interface Logger {
  error: LogFn;
  warn: LogFn;
  info: LogFn;
  /** Optional: without it, debug lines are dropped. */
  debug?: LogFn;
  /** Optional: a logger that adds `bindings` to every line. */
  child?(bindings: Record<string, unknown>): Logger;
}

// ---- Transport -----------------------------------------------------------------------------------

/**
 * One connection as the core sees it: text out, a close, and how much is still waiting to go
 * out. An adapter makes one per accepted socket (Node `ws`, Bun, uWebSockets...).
 */
export interface Transport {
  /** Sends one text frame (dropped if the socket is no longer open). */
  send(text: string): void;
  close(code: number, reason: string): void;
  /** Bytes accepted by `send` but not yet written to the network. */
  bufferedAmount(): number;
  /**
   * Calls `listener` whenever written data left the send buffer (so `bufferedAmount` may have
   * fallen), until the returned function is called. The core listens only while it holds back
   * for a slow reader; the adapter fires it from its socket's write callbacks or drain event.
   */
  onDrain(listener: () => void): () => void;
}

// ---- Session -------------------------------------------------------------------------------------

/**
 * A connection on another process that sent a frame to the session this process writes: what
 * answers that frame alone (a `history`, a `status`, a refusal) goes back to it through the
 * store's bus, never into the stream the session's other connections share.
 */
export interface RemoteSender {
  readonly remote: true;
  answer(message: ServerMessageInput): void;
}

/** Who sent a frame to a session: a connection of this process, or one of another (see {@link RemoteSender}). */
export type Sender = Transport | RemoteSender;

/**
 * One conversation and its stream of messages, as a connection and a store see it. The core's
 * session (`createSession`) is one; a store may hand out its own (the Redis store's follower of
 * a stream another process writes).
 */
export interface Session {
  readonly id: string;
  readonly resumeToken: string;
  readonly principal: unknown;
  /** The conversation so far, oldest first, without the system prompt (none while another process writes the session). */
  history(): readonly HistoryMessage[];
  /** What the conversation's replies used so far, summed over their `llm_complete`s (none before the first, nor on a follower). */
  readonly usage?: Usage | undefined;
  /**
   * `paused` while the running reply is paused, else the status the running reply last sent the
   * client (`thinking`, `streaming`, `calling_tool`), else `idle`. Answers to controls never change it.
   */
  readonly status: SessionStatus;
  /** Whether a connection is attached. */
  readonly attached: boolean;
  /** Connections attached now (tabs sharing it). */
  readonly connectionsAttached: number;
  /** Whether a reply is running. */
  readonly busy: boolean;
  /** The seq of the newest message of the stream (0 before any). */
  readonly lastSeq: number;
  /**
   * About how many bytes the session holds: its history's text and its replay log, in UTF-8
   * bytes, plus reply text waiting for a slow connection. What a session memory budget counts.
   */
  readonly heldBytes: number;
  /** Sends connection-level messages (greeting, pong, resume answers): no seq, not replayed. */
  sendDirect(message: ServerMessageInput): void;
  /** Sends a message of the stream: it gets the next seq and a place in the replay log. */
  send(message: ServerMessageInput): void;
  /**
   * Answers the connection `to` alone (`get_history`, `get_status`, a refusal of a frame it sent):
   * no seq, not replayed, and not seen by the other connections sharing the session (nor by `to`
   * once detached). A {@link RemoteSender} (a connection of another process) is answered through
   * it. With no `to` (a frame forwarded by an older process), it goes into the stream instead.
   */
  answer(to: Sender | undefined, message: ServerMessageInput): void;
  /**
   * Handles one decoded client message (not `ping` or `resume`, which belong to the connection):
   * a `user_message`, a control, or an answer (`tool_approval`, `tool_result`) to a running reply.
   * What answers it alone goes to `from` (see {@link answer}).
   */
  handle(message: SessionMessageIn, from?: Sender): void;
  /**
   * Makes `transport` the session's connection, after writing `replay` frames to it. Returns the
   * connection it replaces, if any, for the caller to close. With `share`, it joins the
   * connections attached instead, and replaces none (a session that cannot share replaces).
   */
  attach(
    transport: Transport,
    replay?: readonly string[],
    options?: { readonly share?: boolean },
  ): Transport | undefined;
  /**
   * `transport` is gone. The running reply goes on into the replay log, unless set to cancel.
   * Returns false (and does nothing) if the session had moved to another connection already.
   */
  detach(transport: Transport): boolean;
  /** Closes the attached connection, if any (the session stays; the connection's end detaches it). */
  closeConnection(code: number, reason: string): void;
  /** The frames a client that saw up to `lastSeq` missed. */
  replaySince(lastSeq: number): ReplayResult;
  /** The client on `from` (the connection attached, when not given) has the stream up to `seq`. */
  acknowledge(seq: number, from?: Transport): void;
  /** Ends the session object: cancels the running reply (and with it the model request) and lets go of its connections. */
  end(): void;
}

// ---- Session store -------------------------------------------------------------------------------

/** What a resume came to: the session with the frames the client missed, or why not. */
export type ClaimResult =
  | { readonly outcome: 'resumed'; readonly session: Session; readonly replay: readonly string[] }
  | { readonly outcome: 'session_lost' }
  | { readonly outcome: 'forbidden' }
  /** The session belongs to another principal than the one resuming (see `samePrincipal`). */
  | { readonly outcome: 'other_principal' }
  | { readonly outcome: 'resume_gap'; readonly oldestHeld: number };

/**
 * How a session whose state a store keeps tells the store of every change, and learns where the
 * stream and conversation stand. A store gives it in {@link SessionInit.persistence}.
 */
export interface SessionPersistence {
  /** The seq of the newest message of the stream so far (0 for a new session). */
  readonly lastSeq: number;
  /** The conversation so far. */
  readonly history: readonly HistoryMessage[];
  /** `user_message` ids the session answered already (a resend of one is ignored). */
  readonly requestIds: readonly string[];
  /** Optional: the conversation's usage total as stored (every reply's `llm_complete` usage summed), none before a reply reported any. */
  readonly usage?: Usage;
  /** Whether the store takes writes now; a `user_message` is refused with `store_unavailable` when not. */
  available(): boolean;
  /** Each message of the stream, encoded with its seq, in order. */
  frameAppended(seq: number, text: string): void;
  /**
   * Optional: messages `firstSeq` to `lastSeq` (appended already) are consecutive chunks of one
   * reply, given as one run (`protocol/replay-runs.ts`'s `encodeRun`): the store may keep the run
   * instead of their frames, so its log holds a long reply of small chunks in few entries. Told
   * before the frame after `lastSeq` is appended.
   */
  framesCoalesced?(firstSeq: number, lastSeq: number, run: string): void;
  /** The whole history, after each change. */
  historyChanged(messages: readonly HistoryMessage[]): void;
  /** Optional: the conversation's usage total grew (a reply's `llm_complete` carried usage); this is the new total. */
  usageChanged?(usage: Usage): void;
  replyStarted(requestId: string): void;
  /** The reply finished (completed, failed or aborted); its last message has been appended. */
  replyEnded(requestId: string): void;
  /** The client has the stream up to `seq`: the store need not keep those messages. */
  acknowledged(seq: number): void;
  /**
   * Registers, once, what to call when the store can no longer take this session's writes: the
   * session then ends its running reply with `store_unavailable` (and cancels its model request).
   */
  onFailed?(listener: () => void): void;
  /** Optional: the session object ended (this process holds it no more); nothing more is written through this. */
  ended?(): void;
}

/** What a store passes to make a session object in this process. */
export interface SessionInit {
  readonly sessionId: string;
  readonly resumeToken: string;
  readonly principal: unknown;
  /** Set by a store that keeps the session's state: where it is kept. */
  readonly persistence?: SessionPersistence;
}

/** How much this process's sessions may hold together. */
export interface SessionBudget {
  /** Sessions held at once. */
  readonly maxSessions: number;
  /** Bytes of history and replay held by all sessions together (see `Session.heldBytes`). */
  readonly maxBytes: number;
}

/**
 * This process's sessions, as the core keeps them for the store it opens
 * ({@link SessionStoreContext.sessions}): the map by id, the expiry of a session kept without a
 * connection, the session budget and the resume checks. A store holds here each session object it
 * makes (with `makeSession` or `makeFollower`) and lets go of it here: it keeps no map of session
 * objects of its own, and the core finds, counts, pushes to and greets them here.
 */
export interface LocalSessions {
  /** Sessions held now. */
  readonly size: number;
  values(): IterableIterator<Session>;
  get(sessionId: string): Session | undefined;
  /** Holds `session` from now on (it replaces one held under its id; it does not expire until {@link keepDetached}). */
  hold(session: Session): void;
  /** Lets go of `session` (if it is the one held under its id) and ends the object. */
  drop(session: Session): void;
  /**
   * `session` lost its last connection and stays in this process (a store whose records are the
   * session objects): it is dropped after the TTL, or sooner to make room within the session
   * budget, unless a connection takes it again. One that never said anything is dropped at once.
   */
  keepDetached(session: Session): void;
  /**
   * The resume checks of a held session: the token (skipped when `resumeToken` is undefined: the
   * principal opens the session by id, or the server pushes), then the principal, then the frames
   * after `lastSeq` (`resume_gap` when some are gone). Nothing changes either way.
   */
  resume(
    session: Session,
    resumeToken: string | undefined,
    lastSeq: number,
    principal: unknown,
  ): Exclude<ClaimResult, { readonly outcome: 'session_lost' }>;
  /**
   * The resume checks of a session's record, before anything changes: `presented` against
   * `secret` in constant time (a store keeping a hash of the token compares hashes; skipped when
   * undefined), then `principal` against the `owner`'s. Undefined when the resume may go on.
   */
  refusal(
    secret: string,
    presented: string | undefined,
    owner: unknown,
    principal: unknown,
  ): 'forbidden' | 'other_principal' | undefined;
  /**
   * What a resume replays when the store read part of it from its log: `stored` (the frames after
   * `lastSeq` it read), then the session's own frames after those (appended since the read, or by
   * the loading itself, such as an interrupted reply's ending).
   */
  replayAfter(session: Session, stored: readonly StoredFrame[], lastSeq: number): string[];
  /**
   * Runs `settle` once every settling of session `sessionId` started before it on this process
   * has finished (whether it failed or not): two quick reconnects, or a resume and a push, must
   * not both load or claim the session. Resolves or rejects as `settle` does.
   */
  oneAtATime<T>(sessionId: string, settle: () => Promise<T>): Promise<T>;
  /** Puts `message` into the stream of session `sessionId` if it is held here; false if it is not. */
  push(sessionId: string, message: ServerMessageInput): boolean;
  /** Puts `message` into the stream of every session held here but `excludeSessionId`; returns how many. */
  broadcast(message: ServerMessageInput, excludeSessionId?: string): number;
}

/**
 * Whether the store can take writes: always for memory, and while Redis answers for Redis.
 * `degraded`: a Redis Cluster serves, but some masters do not answer (their slots' sessions are unavailable).
 */
export type StoreHealth = 'ok' | 'degraded' | 'unavailable';

/** The records under a store (SQLite, PostgreSQL), as `/health` reports them. */
export interface RecordsHealth {
  /** `sqlite`, `postgres`... (`SessionRecords.kind`). */
  readonly kind: string;
  /** `unavailable` while the database does not answer (`SessionRecords.health()`). */
  readonly status: StoreHealth;
}

/** A frame of a session's log, by seq. */
export interface StoredFrame {
  readonly seq: number;
  readonly text: string;
}
