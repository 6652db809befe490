/**
 * The core's ports, part two: what a store is. A session store opened for one server
 * (`SessionStore`: its own directory, or, shared by several processes, its `Coordination` and
 * `SharedSessionRecords`, on which the core keeps the sessions), the records conversations are
 * kept in (`SessionRecords`), conversation bindings and usage quotas. Imports nothing of the core
 * but ./session-ports.ts. Read through `./ports.ts`, which stores import alone of the core.
 */
import type { Observable } from 'rxjs';
import type { HistoryMessage, ServerMessageInput, SessionMessageIn, Usage } from '../protocol/codecs';
import type {
  ClaimResult,
  LocalSessions,
  Logger,
  RecordsHealth,
  Session,
  SessionInit,
  SessionPersistence,
  StoreHealth,
  StoredFrame,
} from './session-ports';
/** What a server gives the store it opens. */
export interface SessionStoreContext {
  /** How long a session outlives its connection, in ms. */
  readonly ttlMs: number;
  /** Replay frames a session keeps (a shared store trims its log to this many). */
  readonly replayMaxMessages: number;
  /** This process's sessions: the store holds here every session object it makes. */
  readonly sessions: LocalSessions;
  /** Makes a session object of this process, the writer of its stream (the store holds it in {@link sessions}). */
  makeSession(init: SessionInit): Session;
  /** A new session's id and its 256-bit resume token. */
  newIdentity(): { readonly sessionId: string; readonly resumeToken: string };
  readonly logger: Logger;
}

/**
 * What one server's opened store does with sessions: makes and finds them (in its records, or
 * another process), and decides what becomes of one its connections left. The sessions this
 * process holds are the core's ({@link LocalSessions}): the store holds each one it makes there.
 */
export interface SessionDirectory {
  /** A new session for a connection of `principal`, held in {@link SessionStoreContext.sessions}. */
  create(principal: unknown): Session;
  /**
   * The session a resume asks for, if the token is right and it belongs to `principal` (the
   * resuming connection's, compared before anything else changes: see {@link LocalSessions.refusal}),
   * with the frames after `lastSeq`. With `share`, the connection joins the ones attached: a store
   * must not treat it as a takeover. A shared store answers asynchronously; one that cannot be
   * reached rejects.
   */
  claim(
    sessionId: string,
    resumeToken: string,
    lastSeq: number,
    options?: { readonly share?: boolean; readonly principal?: unknown },
  ): ClaimResult | Promise<ClaimResult>;
  /** Ends a session for good (its state too): a connection left it for another before it said anything. */
  end(session: Session): void;
  /** Optional: a connection took the session (the core stops its expiry itself). */
  attached?(session: Session): void;
  /** The session lost its last connection: keep it ({@link LocalSessions.keepDetached}), let go of it, or end it. */
  detached(session: Session): void;
  /**
   * Optional: puts `message` into the stream of session `sessionId`, which this process does not
   * hold (the core pushes to the ones it holds). Resolves false if no such session exists; rejects
   * if a shared store cannot be reached to find out. Without it, such a push finds no session.
   */
  push?(sessionId: string, message: ServerMessageInput): Promise<boolean>;
  /**
   * Optional, for a store several processes share: puts `message` into the stream of every session
   * the other processes hold, but `excludeSessionId` (the core puts it into this process's). Resolves
   * (also when the store cannot be reached to tell them).
   */
  broadcastToOthers?(message: ServerMessageInput, excludeSessionId?: string): Promise<void>;
  health(): StoreHealth;
  /** The records the store keeps conversations in, if any, and whether they answer now. */
  recordsHealth?(): RecordsHealth | undefined;
  /**
   * Nodes of a clustered store that do not answer now (`host:port`): the sessions in their slots
   * are unavailable while the others are served. A store of one node does not have it.
   */
  unavailableNodes?(): readonly string[];
  /** Resolves once the store can serve (a shared store connected, or gave up waiting); `start` awaits it. */
  ready?(): Promise<void>;
  /** The server stops: every session this process holds ends (a shared store keeps their state). */
  close(): Promise<void>;
  /** The principals' conversations, for a store that can list them. */
  readonly conversations?: ConversationCatalog;
}

/**
 * Keeps sessions for a server: `memoryStore()` (the default) or `redisStore()` for several
 * processes behind one address. A server opens it once per start and closes what it returns.
 */
export interface SessionStore {
  /** For logs and `/health`: `memory` or `redis`. */
  readonly kind: string;
  /** Opens the store for one server; the server closes what it returns when it stops. */
  open(context: SessionStoreContext): SessionDirectory | SharedStoreParts;
}

// ---- Shared stores: records and coordination ------------------------------------------------

/** Who writes a session of a shared store: process `id` (`''`: nobody yet), and whether it is still up (its lease runs). */
export interface SessionOwner {
  readonly id: string;
  readonly alive: boolean;
}

/**
 * What the processes sharing a store tell each other. Every process hears every message and acts
 * on the sessions it holds.
 */
export type CoordinationMessage =
  /** Session `s` was resumed on process `by`: any other connection of it must close (4409). */
  | { readonly t: 'takeover'; readonly s: string; readonly by: string }
  /**
   * A client's frame for the writer of `s`, sent by a connection on process `from` that follows
   * it: the writer confirms it took frame `k` (`took`), and answers what is that connection's
   * alone (a `history`, a `status`, a refusal) to connection `c` of `from` (`answer`).
   */
  | {
      readonly t: 'control';
      readonly s: string;
      readonly m: SessionMessageIn;
      readonly from?: string;
      readonly c?: string;
      readonly k?: string;
    }
  /** The writer of `s` took frame `k` forwarded by process `to`: `to` need not hold it for a takeover any more. */
  | { readonly t: 'took'; readonly s: string; readonly to: string; readonly k: string }
  /** An answer for connection `c` of process `to` alone (no seq: not part of the stream). */
  | {
      readonly t: 'answer';
      readonly s: string;
      readonly to: string;
      readonly c: string;
      readonly m: ServerMessageInput;
    }
  /** A message for the stream of `s`, for its writer `to` (a push on another process). */
  | { readonly t: 'send'; readonly s: string; readonly to: string; readonly m: ServerMessageInput }
  /**
   * Process `by` writes `s` now (it took it over, or took it up with no one writing it): a process
   * following it forwards again the frames no writer confirmed (the new writer takes each once).
   */
  | { readonly t: 'writing'; readonly s: string; readonly by: string }
  /** The writer of `s` let go of it: a process following it may take over. */
  | { readonly t: 'released'; readonly s: string }
  /** Conversation `s` was deleted: a process holding it closes its connection (4410) and lets it go. */
  | { readonly t: 'deleted'; readonly s: string }
  /** A message for every session held anywhere but `x`, from process `from`. */
  | { readonly t: 'broadcast'; readonly from: string; readonly m: ServerMessageInput; readonly x?: string };

/**
 * How the processes of a shared store agree on who writes each session, and talk: ownership
 * (compare-and-set), the writer's log as it grows, and a bus. Redis implements it on its owner
 * keys, leases, `XREAD BLOCK` and pub/sub; the core runs the claim, follow and takeover on it.
 */
export interface Coordination {
  /** This process's name in ownership and on the bus. */
  readonly processId: string;
  /** Who writes the session now. */
  owner(sessionId: string): Promise<SessionOwner>;
  /** Makes this process the session's writer if `expectedOwner` still is; false if someone else got there first. */
  claim(sessionId: string, expectedOwner: string): Promise<boolean>;
  /**
   * Gives up this process's ownership (another may take it at once) and tells the others
   * (`released`). Resolves also when the store cannot be reached: it then lets go once it is back.
   */
  release(sessionId: string): Promise<void>;
  /**
   * The frames the writer appends after `afterSeq`, in batches, in order; an empty batch when
   * nothing came for a while (the follower then checks the writer is still up). Errors when the
   * store goes away under it. Unsubscribing stops it.
   */
  follow(sessionId: string, afterSeq: number): Observable<readonly StoredFrame[]>;
  /** Tells every process (this one too). */
  publish(message: CoordinationMessage): Promise<void>;
  /** What the processes say, this one's too. */
  readonly messages: Observable<CoordinationMessage>;
}

/** What a shared store keeps of a session for its resume checks and its next writer. */
export interface SharedMeta {
  /** The resume token as {@link SharedSessionRecords.hashToken} keeps it. */
  readonly tokenHash: string;
  readonly principal: unknown;
  /** The request id of the reply running when its writer last said so. */
  readonly busy?: string | undefined;
  /** The conversation's usage total, once a reply reported usage. */
  readonly usage?: Usage;
}

/** A session's state, loaded for this process to write it. */
export interface LoadedSession {
  /** Where the session's changes go from now on (its state so far in it). */
  readonly persistence: SessionPersistence;
  /** The seq of the newest frame of the shared log. */
  readonly storedSeq: number;
  /** Whether durable records keep the history: a client ahead of the log (the store lost frames) is then given it. */
  readonly durable: boolean;
  /**
   * Ends the reply its previous writer left running (it went away mid-reply): the frames the
   * client is told go through `send`, into the session's stream. Absent when none ran.
   */
  endInterrupted?(send: (message: ServerMessageInput) => void): void;
}

/**
 * The state of the sessions of a shared store: meta, log and what a writer loads. The store
 * brings back from its durable records (if any) a session it lost.
 */
export interface SharedSessionRecords {
  /** The resume token as the store keeps it (a hash). */
  hashToken(resumeToken: string): string;
  /** The session's meta; none when the store (and its records) have no such session. */
  readMeta(sessionId: string): Promise<SharedMeta | undefined>;
  /** The frames of the shared log after `afterSeq`, or a gap when the oldest were trimmed. */
  framesAfter(
    sessionId: string,
    afterSeq: number,
  ): Promise<{ readonly frames: readonly StoredFrame[] } | { readonly gap: { readonly oldestHeld: number } }>;
  /** Where a new session's changes go; its meta, and this process as its writer, are written in the background. */
  create(sessionId: string, resumeToken: string, principal: unknown): SessionPersistence;
  /**
   * Loads a session this process has just claimed, to write it: a client ahead of the log
   * (`clientSeq` past its newest frame: the store lost some) must not see seqs it has reused.
   */
  load(sessionId: string, meta: SharedMeta, clientSeq: number): Promise<LoadedSession>;
  /** A session that never said anything: nothing to resume, so nothing is kept. */
  remove(sessionId: string): void;
}

/** A resume by the directory (one claim per session at a time), shared with the connections on the session. */
export type ShareClaim = (
  sessionId: string,
  resumeToken: string,
  lastSeq: number,
  principal: unknown,
) => Promise<ClaimResult>;

/**
 * A store several processes share, opened for one server: its records and coordination; the core
 * keeps the sessions (claim, follow, takeover, push, broadcast, release) on them.
 */
export interface SharedStoreParts {
  readonly coordination: Coordination;
  readonly records: SharedSessionRecords;
  /** Logs an outage of the store once (until it is back): the core's writes to it that failed. */
  reportFailure(error: unknown): void;
  /** Whether the store takes writes now. */
  available(): boolean;
  health(): StoreHealth;
  recordsHealth?(): RecordsHealth | undefined;
  unavailableNodes?(): readonly string[];
  ready?(): Promise<void>;
  /** Closes the store, once the core has let go of every session (and released those it wrote). */
  close(): Promise<void>;
  /** The principals' conversations; `claim` opens one (the core's resume, shared). */
  conversations?(claim: ShareClaim): ConversationCatalog;
}

// ---- Conversation bindings -------------------------------------------------------------------

/**
 * Where a conversation named by another protocol (an AI SDK chat `id`, an AG-UI `threadId`) lives
 * in llm-ws: the session holding it, and where its running reply began. The protocol adapters
 * keep one per conversation and principal, so a client of any process finds it.
 */
export interface ConversationBinding {
  readonly sessionId: string;
  readonly resumeToken: string;
  /** The seq a resume starts after: just before the running reply's first message, or the newest seen. */
  readonly fromSeq: number;
  /** The id of the reply running (or waiting for an approval), if one is. */
  readonly replyId?: string;
}

/**
 * Keeps {@link ConversationBinding}s by key: `memoryConversationBindings()` for one process,
 * `redisConversationBindings(...)` for several behind one address.
 */
export interface ConversationBindings {
  get(key: string): Promise<ConversationBinding | undefined>;
  /** Binds `key` unless it is bound already; resolves what holds then (`binding`, or the one there before). */
  bind(key: string, binding: ConversationBinding, ttlMs: number): Promise<ConversationBinding>;
  /** Binds `key` to `binding`, replacing what was there. */
  set(key: string, binding: ConversationBinding, ttlMs: number): Promise<void>;
  /** Releases what the bindings hold (connections); the bindings themselves stay where they are kept. */
  close(): Promise<void>;
}

// ---- Usage limits ----------------------------------------------------------------------------

/** Where a count stands in its window (see {@link QuotaCounter}). */
export interface QuotaWindow {
  /** The count in the current window, after what was just added. */
  readonly used: number;
  /** ms until the window ends and the count starts again from 0 (the whole period when no window is open). */
  readonly resetInMs: number;
}

/**
 * Counters in fixed windows, one per key, for the per-principal limits (a token budget, a message
 * rate): a key's window opens at its first count and lasts `periodMs`. `memoryQuotaCounter()` for
 * one process, `redisQuotaCounter(...)` for every process on one Redis (one key per counter, each
 * update atomic, so a Redis Cluster serves it too).
 */
export interface QuotaCounter {
  /**
   * Adds `amount` to `key`'s count, opening a window of `periodMs` when none is open, and says where
   * it stands. An `amount` of 0 only reads it (and opens no window). Rejects when the counter cannot
   * be reached.
   */
  add(key: string, amount: number, periodMs: number): Promise<QuotaWindow>;
  /** Releases what the counter holds (connections); the counts stay where they are kept. */
  close(): Promise<void>;
}
/**
 * Pure functions over a history as {@link SessionPersistence.historyChanged} hands it to a store
 * (its branches and the marker of the active one): for stores that summarize it or add to it.
 */

// ---- Session records -----------------------------------------------------------------------------

/** A session's record as a store keeps it (never its resume token: only a hash of it). */
export interface SessionMeta {
  /** SHA-256 of the resume token (base64url). */
  readonly tokenHash: string;
  /** Who the session belongs to, as plain JSON data (`undefined` for the anonymous principal). */
  readonly principal: unknown;
  /** When the session was created, in ms since the epoch. */
  readonly createdAt: number;
  /** When its history last changed (or it was renamed), in ms since the epoch. */
  readonly updatedAt: number;
  /** A title given with `rename`; none while the first user message names it. */
  readonly title?: string;
  /** The reply running when its writer last said so: its request id and the seq of its first frame. */
  readonly busy?: { readonly requestId: string; readonly fromSeq: number };
  /** The conversation's usage total (see {@link SessionRecords.writeUsage}); none before a reply reported any. */
  readonly usage?: Usage;
}

/** What a session record holds: what its writer needs to go on with it. */
export interface StoredSession {
  readonly meta: SessionMeta;
  /** The history as the session last wrote it (kept opaque: whatever fields its messages carry). */
  readonly history: readonly HistoryMessage[];
  /** `user_message` ids answered lately, newest first. */
  readonly requestIds: readonly string[];
  /** The seq of the newest frame ever appended (0 for none), even if trimmed since. */
  readonly lastSeq: number;
}

/** One conversation as a list shows it. */
export interface ConversationSummary {
  readonly id: string;
  /** The title given with `rename`, else the start of the first user message ('' before one). */
  readonly title: string;
  /** In ms since the epoch. */
  readonly createdAt: number;
  /** In ms since the epoch. */
  readonly updatedAt: number;
  readonly messageCount: number;
  /** The conversation's usage total (every reply's `llm_complete` usage summed); absent before a reply reported any. */
  readonly usage?: Usage;
}

/** One page of a principal's conversations, the most recently updated first. */
export interface ConversationPage {
  readonly conversations: readonly ConversationSummary[];
  /** Pass it back for the next page; absent on the last. */
  readonly nextCursor?: string;
}

/**
 * Where sessions are kept as records, so they outlive a process: SQLite, PostgreSQL (the
 * memory store keeps none). Writes are not awaited by the core (a store keeps each session's
 * writes in order and may batch them); a write that fails rejects, and the session then ends its
 * running reply with `store_unavailable`. Reads are awaited. A store keeps history opaque: it
 * writes and reads the messages as JSON, whatever fields they carry.
 */
export interface SessionRecords {
  /** For logs and `/health`: `sqlite`, `postgres`... */
  readonly kind: string;
  /** Writes a new session's record. */
  create(sessionId: string, meta: SessionMeta): Promise<void>;
  read(sessionId: string): Promise<StoredSession | undefined>;
  /**
   * Appends frame `seq` of the stream. Per frame, so it returns nothing: the store batches appends
   * (per tick or per few ms) and a batch that fails is reported by the next write or read.
   */
  append(sessionId: string, seq: number, text: string): void;
  /** The frames after `afterSeq`, or a gap when the oldest of them were trimmed. */
  framesAfter(
    sessionId: string,
    afterSeq: number,
  ): Promise<{ readonly frames: readonly StoredFrame[] } | { readonly gap: { readonly oldestHeld: number } }>;
  /** The whole history, after each change: on disk before the call returns for an embedded store. */
  writeHistory(sessionId: string, messages: readonly HistoryMessage[], now: number): Promise<void>;
  /**
   * Optional: the conversation's usage total, after each reply that reported usage (read back as
   * `meta.usage` and listed with its summary). A store without it lists no usage.
   */
  writeUsage?(sessionId: string, usage: Usage): Promise<void>;
  /** A reply starts (`busy`), its request id remembered; or ends (`undefined`). */
  setBusy(sessionId: string, busy: SessionMeta['busy'], rememberRequestId?: string): Promise<void>;
  /** Frames up to `seq` need not be kept. */
  trim(sessionId: string, seq: number): Promise<void>;
  /** A new resume token (opening a conversation by id hands out a new one). */
  setToken(sessionId: string, tokenHash: string): Promise<void>;
  /** The conversations of `principal` (compared as JSON), the most recently updated first. */
  list(principal: unknown, page: { readonly limit: number; readonly cursor?: string }): Promise<ConversationPage>;
  rename(sessionId: string, title: string, now: number): Promise<void>;
  /** Removes the session and everything of it. */
  remove(sessionId: string): Promise<void>;
  /**
   * Optional: whether the database answers now (`unavailable` after a query failed for want of a
   * connection, until one succeeds), for `/health`. A store without it is taken as `ok`.
   */
  health?(): StoreHealth;
  /** Writes what is batched and lets go of the database. */
  close(): Promise<void>;
}

/**
 * A principal's conversations, as a server's opened store serves them to its connections: what
 * the `list_conversations`, `open_conversation`, `rename_conversation` and
 * `delete_conversation` messages ask. Every call names the asking principal: a conversation of
 * another is not found.
 */
export interface ConversationCatalog {
  list(principal: unknown, page: { readonly limit: number; readonly cursor?: string }): Promise<ConversationPage>;
  /**
   * The session of conversation `id`, for a connection of its principal, without a resume token
   * (`session_lost` when there is none of this principal's). The session's resume token may be
   * a new one.
   */
  open(principal: unknown, id: string): Promise<ClaimResult>;
  /** False when there is no such conversation of `principal`. */
  rename(principal: unknown, id: string, title: string): Promise<boolean>;
  /** Removes it from every store (its session ends); false when there is none of `principal`'s. */
  remove(principal: unknown, id: string): Promise<boolean>;
}
