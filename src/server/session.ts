/**
 * One conversation, transport-agnostic: it outlives its connections. A connection attaches,
 * detaches, and another may attach later and resume; meanwhile a running reply streams into the
 * session's replay log. It sees only `send(text)`, `close(code, reason)` and `bufferedAmount()`.
 */
import { BehaviorSubject, interval, Subject, type Subscription } from 'rxjs';
import type { LLMProvider } from '../llm/types';
import type { ControlMessage, HistoryMessage, ServerMessageInput, SessionStatus, UserMessage } from '../protocol/codecs';
import { CloseCode } from '../protocol/codes';
import { encodeServerMessage } from '../protocol/decode';
import { holdWhilePaused } from '../operators/hold-while-paused';
import type { ToolRegistry } from '../tools/registry';
import { type Conversation, type ConversationOptions, createConversation } from './conversation';
import { childLogger, type Logger } from './logger';
import { type ReplayLimits, ReplayLog, type ReplayResult } from './replay-log';
import { type ReplyTimings, runReply } from './reply';

/** What a session needs from its connection. */
export interface SessionTransport {
  send(text: string): void;
  close(code: number, reason: string): void;
  /** Bytes accepted by `send` but not yet written to the network. */
  bufferedAmount(): number;
}

/** When a slow reader makes the server hold back. */
export interface BackpressureLimits {
  /** Above this many buffered bytes, chunks are coalesced and the model stream is not read. */
  readonly highWaterMark: number;
  /** Above this many, the connection is closed with 4408 (the session stays resumable). */
  readonly hardLimit: number;
}

/**
 * How a session shared between server processes keeps its state in a session store. The store
 * gives it where the stream and conversation stand, and is told of every change.
 */
export interface SessionPersistence {
  /** The seq of the newest message of the stream so far (0 for a new session). */
  readonly lastSeq: number;
  /** The conversation so far. */
  readonly history: readonly HistoryMessage[];
  /** `user_message` ids the session answered already (a resend of one is ignored). */
  readonly requestIds: readonly string[];
  /** Whether the store takes writes now; a `user_message` is refused with `store_unavailable` when not. */
  available(): boolean;
  /** Each message of the stream, encoded with its seq, in order. */
  frameAppended(seq: number, text: string): void;
  /** The whole history, after each change. */
  historyChanged(messages: readonly HistoryMessage[]): void;
  replyStarted(requestId: string): void;
  /** The reply finished (completed, failed or aborted); its last message has been appended. */
  replyEnded(requestId: string): void;
  /** The client has the stream up to `seq`: the store need not keep those messages. */
  acknowledged(seq: number): void;
}

/**
 * Where a session sends what it is asked to do while another server process is its writer
 * (that process runs the reply; this one follows the stream from the store).
 */
export interface RemoteWriter {
  /** A client message for the writer to handle. */
  handle(message: UserMessage | ControlMessage): void;
  /** A message for the writer to put into the stream. */
  send(message: ServerMessageInput): void;
}

/** Everything a session is made from. */
export interface SessionOptions {
  readonly sessionId: string;
  /** The secret a client must present to resume the session. */
  readonly resumeToken: string;
  /** Who the session belongs to, as `authenticate` said; tools see it. */
  readonly principal?: unknown;
  readonly provider: LLMProvider;
  readonly tools: ToolRegistry;
  readonly conversation: ConversationOptions;
  readonly maxToolSteps: number;
  readonly idleTimeoutMs: number;
  /** Longest `user_message` text accepted, in characters. */
  readonly maxMessageLength: number;
  /** What a running reply does when its connection drops, unless the message says otherwise. */
  readonly onDisconnect: 'continue' | 'cancel';
  readonly replay: ReplayLimits;
  readonly backpressure: BackpressureLimits;
  readonly logger: Logger;
  /** Makes the `id` of each server message. */
  readonly nextMessageId: () => string;
  /** Told of every message of the stream as it is sent (for metrics). */
  readonly onSent?: (message: ServerMessageInput) => void;
  /** Told how replies' model calls go (for metrics). */
  readonly timings?: ReplyTimings;
  /** The session store's side of a session shared between processes; none for a session of one process. */
  readonly persistence?: SessionPersistence;
  /** Set when another process is the session's writer: the session follows the stream (see {@link Session.deliver}). */
  readonly remoteWriter?: RemoteWriter;
  /** The seq the stream stands at, for a follower (a writer gets it from `persistence`). @default 0 */
  readonly startSeq?: number;
}

/** One conversation and its stream of messages. */
export interface Session {
  readonly id: string;
  readonly resumeToken: string;
  readonly principal: unknown;
  readonly conversation: Conversation;
  /** `paused` while paused, else what the running reply last told the client, else `idle`. */
  readonly status: SessionStatus;
  /** Whether a connection is attached. */
  readonly attached: boolean;
  /** Whether a reply is running. */
  readonly busy: boolean;
  /** The seq of the newest message of the stream (0 before any). */
  readonly lastSeq: number;
  /** Sends connection-level messages (greeting, pong, resume answers): no seq, not replayed. */
  sendDirect(message: ServerMessageInput): void;
  /** Sends a message of the stream: it gets the next seq and a place in the replay log. */
  send(message: ServerMessageInput): void;
  /** Handles one decoded client message (not `ping` or `resume`, which belong to the connection). */
  handle(message: UserMessage | ControlMessage): void;
  /**
   * Makes `transport` the session's connection, after writing `replay` frames to it. Returns the
   * connection it replaces, if any, for the caller to close.
   */
  attach(transport: SessionTransport, replay?: readonly string[]): SessionTransport | undefined;
  /**
   * `transport` is gone. The running reply goes on into the replay log, unless set to cancel.
   * Returns false (and does nothing) if the session had moved to another connection already.
   */
  detach(transport: SessionTransport): boolean;
  /** Closes the attached connection, if any (the session stays; the connection's end detaches it). */
  closeConnection(code: number, reason: string): void;
  /** The frames a client that saw up to `lastSeq` missed. */
  replaySince(lastSeq: number): ReplayResult;
  /** The client has the stream up to `seq`. */
  acknowledge(seq: number): void;
  /** Ends the session: cancels the running reply (and with it the model request). */
  dispose(): void;
  /** Whether another process is the writer and this session follows the stream from a store. */
  readonly following: boolean;
  /** A message of the stream written by the remote writer, as read from the store (followers only). */
  deliver(seq: number, text: string): void;
  /** The remote writer is gone: this session becomes the writer, from the store's state. */
  own(persistence: SessionPersistence): void;
  /**
   * The store cannot take writes: a running reply ends with a `store_unavailable` error (and
   * its model request is cancelled).
   */
  storeFailed(): void;
}

interface RunningReply {
  readonly requestId: string;
  readonly abort$: Subject<void>;
  readonly paused$: BehaviorSubject<boolean>;
  readonly onDisconnect: 'continue' | 'cancel';
  subscription?: Subscription;
  /** Set once the store failed under this reply, so it is told only once. */
  storeFailed?: boolean;
}

/** How many `user_message` ids a session remembers to recognise a resend. */
const REMEMBERED_REQUEST_IDS = 1000;
/** How often a congested connection is checked for draining, in ms. */
const DRAIN_POLL_MS = 10;

/**
 * A session as a class: its methods live on the prototype, so an idle session costs its fields,
 * not a closure per method (thousands of idle sessions are the common case).
 */
class SessionState implements Session {
  private currentConversation: Conversation;
  private readonly log: ReplayLog;
  private persistence: SessionPersistence | undefined;
  private remoteWriter: RemoteWriter | undefined;
  /** Created on the first user_message: an idle session needs none. */
  private seenRequestIds: Set<string> | undefined;
  private transport: SessionTransport | undefined;
  private reply: RunningReply | undefined;
  private deliveredStatus: SessionStatus = 'idle';
  private disposed = false;
  /** The highest seq the client acknowledged: repeated acks (every heartbeat) cost nothing. */
  private acknowledgedSeq = 0;
  // Backpressure: chunk text waiting for the connection to drain, and who waits for that.
  private coalesced: { requestId: string; text: string } | undefined;
  private drainWaiters: Array<() => void> = [];
  private drainWatch: Subscription | undefined;

  constructor(private readonly options: SessionOptions) {
    this.persistence = options.persistence;
    this.remoteWriter = options.remoteWriter;
    this.currentConversation = this.conversationFrom(options.persistence);
    this.rememberAll(options.persistence?.requestIds);
    this.log = new ReplayLog(options.replay, options.persistence?.lastSeq ?? options.startSeq ?? 0);
  }

  private conversationFrom(persistence: SessionPersistence | undefined): Conversation {
    if (!persistence) return createConversation(this.options.conversation);
    return createConversation(this.options.conversation, {
      history: persistence.history,
      onChange: (messages) => persistence.historyChanged(messages),
    });
  }

  get conversation(): Conversation {
    return this.currentConversation;
  }

  get following(): boolean {
    return this.remoteWriter !== undefined;
  }

  get id(): string {
    return this.options.sessionId;
  }

  get resumeToken(): string {
    return this.options.resumeToken;
  }

  get principal(): unknown {
    return this.options.principal;
  }

  get status(): SessionStatus {
    return this.reply?.paused$.value ? 'paused' : this.deliveredStatus;
  }

  get attached(): boolean {
    return this.transport !== undefined;
  }

  get busy(): boolean {
    return this.reply !== undefined;
  }

  get lastSeq(): number {
    return this.log.lastSeq;
  }

  send(message: ServerMessageInput): void {
    if (this.disposed) return;
    if (this.remoteWriter) return this.remoteWriter.send(message);
    // Under backpressure only: merge chunks of one reply into one frame, sent once the socket drains.
    if (message.type === 'llm_chunk' && !message.data.isComplete && this.congested()) {
      if (this.coalesced && this.coalesced.requestId !== message.data.requestId) this.flushCoalesced();
      this.coalesced = { requestId: message.data.requestId, text: (this.coalesced?.text ?? '') + message.data.chunk };
      this.watchDrain();
      return;
    }
    this.flushCoalesced();
    this.emit(message);
  }

  sendDirect(message: ServerMessageInput): void {
    if (!this.disposed) this.write(encodeServerMessage(message, this.options.nextMessageId()));
  }

  handle(message: UserMessage | ControlMessage): void {
    if (this.disposed) return;
    if (this.remoteWriter) return this.remoteWriter.handle(message);
    if (message.type === 'user_message') this.startReply(message);
    else this.control(message);
  }

  attach(next: SessionTransport, replay: readonly string[] = []): SessionTransport | undefined {
    const previous = this.transport;
    this.transport = next;
    for (const frame of replay) this.write(frame);
    return previous === next ? undefined : previous;
  }

  detach(gone: SessionTransport): boolean {
    if (this.transport !== gone) return false;
    this.release();
    return true;
  }

  closeConnection(code: number, reason: string): void {
    this.transport?.close(code, reason);
  }

  replaySince(lastSeq: number): ReplayResult {
    return this.log.since(lastSeq);
  }

  acknowledge(seq: number): void {
    // A client cannot have more than was sent; acks repeat on every heartbeat.
    const upTo = Math.min(seq, this.log.lastSeq);
    if (upTo <= this.acknowledgedSeq) return;
    this.acknowledgedSeq = upTo;
    this.log.acknowledge(upTo);
    this.persistence?.acknowledged(upTo);
  }

  deliver(seq: number, text: string): void {
    if (this.disposed || seq <= this.log.lastSeq) return;
    // The store skips seqs only past an outage that lost frames; nothing before them can be replayed.
    if (seq !== this.log.lastSeq + 1) this.log.restartAfter(seq - 1);
    this.log.append(seq, text);
    this.write(text);
  }

  own(persistence: SessionPersistence): void {
    this.remoteWriter = undefined;
    this.persistence = persistence;
    this.currentConversation = this.conversationFrom(persistence);
    this.rememberAll(persistence.requestIds);
    if (persistence.lastSeq > this.log.lastSeq) this.log.restartAfter(persistence.lastSeq);
  }

  storeFailed(): void {
    const reply = this.reply;
    if (!reply || reply.storeFailed) return;
    reply.storeFailed = true;
    this.send({
      type: 'error',
      data: { code: 'store_unavailable', message: 'the session store went away: the reply was stopped; send it again once the server recovers', retryable: true, requestId: reply.requestId },
    });
    this.abortReply();
  }

  dispose(): void {
    this.disposed = true;
    this.release();
    this.drainWatch?.unsubscribe();
    this.reply?.subscription?.unsubscribe();
    this.reply = undefined;
    this.log.clear();
  }

  /** The connection is gone: frames go to the replay log only, and nobody waits for a drain. */
  private release(): void {
    this.transport = undefined;
    this.flushCoalesced();
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const resolve of waiters) resolve();
    if (this.reply?.onDisconnect === 'cancel') this.abortReply();
  }

  private congested(): boolean {
    return this.transport !== undefined && this.transport.bufferedAmount() > this.options.backpressure.highWaterMark;
  }

  private write(text: string): void {
    const transport = this.transport;
    if (!transport) return;
    transport.send(text);
    if (transport.bufferedAmount() > this.options.backpressure.hardLimit) {
      // The connection goes; the session stays, and the client may resume from the replay log.
      this.options.logger.warn({ sessionId: this.id }, 'client too slow: closing its connection (the session stays resumable)');
      transport.close(CloseCode.TooSlow, 'client too slow: send buffer over its hard limit');
    }
  }

  private emit(message: ServerMessageInput): void {
    if (message.type === 'status') this.deliveredStatus = message.data.status;
    this.options.onSent?.(message);
    const seq = this.log.lastSeq + 1;
    const text = encodeServerMessage(message, this.options.nextMessageId(), seq);
    this.log.append(seq, text);
    this.persistence?.frameAppended(seq, text);
    this.write(text);
  }

  private flushCoalesced(): void {
    if (!this.coalesced) return;
    const { requestId, text } = this.coalesced;
    this.coalesced = undefined;
    this.emit({ type: 'llm_chunk', data: { chunk: text, isComplete: false, requestId } });
  }

  private watchDrain(): void {
    if (this.drainWatch) return;
    this.drainWatch = interval(DRAIN_POLL_MS).subscribe(() => {
      if (this.congested()) return;
      this.drainWatch?.unsubscribe();
      this.drainWatch = undefined;
      this.flushCoalesced();
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      for (const resolve of waiters) resolve();
    });
  }

  /** Resolves when the connection can take more (at once when it can, or when none is attached). */
  private whenWritable(): Promise<void> | undefined {
    if (!this.congested()) return undefined;
    this.watchDrain();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private answerStatus(requestId: string): void {
    this.send({ type: 'status', data: { status: this.status, requestId } });
  }

  private answerHistory(requestId: string): void {
    this.send({ type: 'history', data: { messages: [...this.conversation.messages()], requestId } });
  }

  private refuse(requestId: string, code: 'busy' | 'message_too_long' | 'store_unavailable', message: string, retryable: boolean): void {
    this.send({ type: 'error', data: { code, message, retryable, requestId } });
  }

  private refuseBusy(requestId: string, what: string): void {
    this.refuse(requestId, 'busy', `${what} while reply ${this.reply?.requestId} is running: wait for its llm_complete or abort it`, true);
  }

  /** Ids answered before this process held the session, oldest first so the newest are kept longest. */
  private rememberAll(requestIds: readonly string[] | undefined): void {
    for (const id of [...(requestIds ?? [])].reverse()) this.remember(id);
  }

  private remember(requestId: string): void {
    const seen = (this.seenRequestIds ??= new Set());
    seen.add(requestId);
    if (seen.size > REMEMBERED_REQUEST_IDS) seen.delete(seen.values().next().value as string);
  }

  private startReply(message: UserMessage): void {
    // A resend after a reconnect: the reply exists (running, or in the stream the resume replayed).
    if (this.seenRequestIds?.has(message.id)) return;
    if (this.reply) return this.refuseBusy(message.id, 'a user_message arrived');
    const { text } = message.data;
    const { options } = this;
    if (text.length > options.maxMessageLength) {
      return this.refuse(message.id, 'message_too_long', `the text has ${text.length} characters; this server accepts at most ${options.maxMessageLength}`, false);
    }
    const persistence = this.persistence;
    if (persistence && !persistence.available()) {
      return this.refuse(message.id, 'store_unavailable', 'the session store cannot be reached: try again shortly', true);
    }
    this.remember(message.id);
    const running: RunningReply = {
      requestId: message.id,
      abort$: new Subject(),
      paused$: new BehaviorSubject(false),
      onDisconnect: message.data.options?.onDisconnect ?? options.onDisconnect,
    };
    this.reply = running;
    persistence?.replyStarted(running.requestId);
    running.subscription = runReply({
      requestId: message.id,
      sessionId: options.sessionId,
      principal: options.principal,
      text,
      options: message.data.options ?? {},
      conversation: this.conversation,
      provider: options.provider,
      tools: options.tools,
      maxToolSteps: options.maxToolSteps,
      idleTimeoutMs: options.idleTimeoutMs,
      abort$: running.abort$,
      whenWritable: () => this.whenWritable(),
      timings: options.timings,
      // A child per reply, not per session: an idle session carries no logger of its own.
      logger: childLogger(options.logger, { sessionId: options.sessionId }),
    })
      .pipe(holdWhilePaused(running.paused$))
      .subscribe({
        next: (frame) => this.send(frame),
        complete: () => {
          this.reply = undefined;
          this.send({ type: 'status', data: { status: 'idle', requestId: running.requestId } });
          persistence?.replyEnded(running.requestId);
        },
      });
  }

  private abortReply(): void {
    if (!this.reply) return;
    // Held frames go out first, then the aborted ending: the client's text stays whole.
    this.reply.paused$.next(false);
    this.reply.abort$.next();
  }

  private control(message: ControlMessage): void {
    const { id } = message;
    switch (message.data.type) {
      case 'abort': {
        const target = message.data.requestId;
        if (target === undefined || target === this.reply?.requestId) this.abortReply();
        return this.answerStatus(id);
      }
      case 'pause':
        this.reply?.paused$.next(true);
        return this.answerStatus(id);
      case 'resume':
        this.reply?.paused$.next(false);
        return this.answerStatus(id);
      case 'clear_history':
        if (this.reply) return this.refuseBusy(id, 'clear_history arrived');
        this.conversation.clear();
        return this.answerHistory(id);
      case 'get_history':
        return this.answerHistory(id);
      case 'get_status':
        return this.answerStatus(id);
    }
  }
}

/** Creates a session with no connection yet. */
export function createSession(options: SessionOptions): Session {
  return new SessionState(options);
}
