/**
 * One conversation, transport-agnostic: it outlives its connections. A connection attaches,
 * detaches, and another may attach later and resume; meanwhile a running reply streams into the
 * session's replay log. It sees only its transport (see `ports.ts`) and, when a store keeps its
 * state, that store's persistence hooks; it is always the writer of its stream.
 */
import { type AttachmentLimits, type AttachmentStore, checkAttachments } from './attachments';
import type { LLMProvider } from '../llm/types';
import type {
  HistoryAttachment,
  HistoryMessage,
  ServerMessageInput,
  SessionMessageIn,
  SessionStatus,
  UserMessage,
} from '../protocol/codecs';
import { encodeServerMessage } from '../protocol/decode';
import type { ToolRegistry } from '../tools/registry';
import { type Conversation, type ConversationOptions, createConversation } from './conversation';
import { childLogger } from './logger';
import type { BackpressureLimits } from './connection-writer';
import { SessionConnections } from './session-connections';
import { CloseCode } from '../protocol/codes';
import type { Logger, Sender, Session, SessionPersistence, Transport } from './ports';

export type { Session };
import { type ReplayLimits, ReplayLog, type ReplayResult } from './replay-log';
import { SendQueue } from './send-queue';
import { errorMessageFor } from './error-message';
import type { HumanInTheLoopOptions, ReplyLimits, ReplyTimings } from './reply';
import { RunningReply } from './running-reply';
import type { Telemetry } from './telemetry';
import { answerTool, control, refuse, refuseBusy } from './session-control';

export type { BackpressureLimits };

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
  /** How large a reply may grow before it ends with `reply_too_large`. @default DEFAULT_MAX_REPLY_TEXT_BYTES and DEFAULT_MAX_TOOL_ARGUMENTS_BYTES */
  readonly replyLimits?: ReplyLimits;
  /** Longest `user_message` text accepted, in characters. */
  readonly maxMessageLength: number;
  /** How pictures and files of a `user_message` are checked and where their bytes go; without it, a message with any is refused. */
  readonly attachments?: { readonly limits: AttachmentLimits; readonly store: AttachmentStore };
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
  /** Where each reply's trace starts (the model and tools given are decorated by it already). */
  readonly telemetry?: Telemetry;
  /** Where a store keeps the session's state; none for a session of this process alone. */
  readonly persistence?: SessionPersistence;
  /** How long replies wait for approvals and client tools, and whether reasoning is kept. @default the reply's defaults */
  readonly humanInTheLoop?: HumanInTheLoopOptions;
}

/** The store's `get`, bound: a store may be a class. */
const readAttachment =
  (store: AttachmentStore) =>
  (ref: string): ReturnType<AttachmentStore['get']> =>
    store.get(ref);

/** How many `user_message` ids a session remembers to recognise a resend. */
const REMEMBERED_REQUEST_IDS = 1000;

/**
 * A session as a class: its methods live on the prototype, so an idle session costs its fields,
 * not a closure per method (thousands of idle sessions are the common case).
 */
class SessionState implements Session {
  readonly conversation: Conversation;
  private readonly log: ReplayLog;
  private readonly persistence: SessionPersistence | undefined;
  /** The connection attached now, and its backpressure. */
  private readonly outlet: SessionConnections;
  /** The connection whose frame is being handled, while it is. */
  private sender: Sender | undefined;
  /** Created on the first user_message: an idle session needs none. */
  private seenRequestIds: Set<string> | undefined;
  private reply: RunningReply | undefined;
  private ended = false;
  /** The highest seq the client acknowledged: repeated acks (every heartbeat) cost nothing. */
  private acknowledgedSeq = 0;
  // Backpressure: messages waiting for the connection to drain, and who waits for that.
  private readonly queue = new SendQueue({ congested: () => this.congested(), emit: (message) => this.emit(message) });
  /** The history `heldBytes` last measured, and its size: recounted only when the history changes. */
  private historySize: { messages: readonly HistoryMessage[]; bytes: number } | undefined;
  private drainWaiters: Array<() => void> = [];

  constructor(private readonly options: SessionOptions) {
    const persistence = options.persistence;
    this.persistence = persistence;
    this.outlet = new SessionConnections(options.backpressure, options.logger, options.sessionId);
    this.conversation = persistence
      ? createConversation(options.conversation, {
          history: persistence.history,
          onChange: (messages) => persistence.historyChanged(messages),
        })
      : createConversation(options.conversation);
    this.rememberAll(persistence?.requestIds);
    this.log = new ReplayLog(options.replay, persistence?.lastSeq ?? 0);
    persistence?.onFailed?.(() => this.storeFailed());
  }

  get id(): string {
    return this.options.sessionId;
  }

  history(): readonly HistoryMessage[] {
    return this.conversation.messages();
  }

  get resumeToken(): string {
    return this.options.resumeToken;
  }

  get principal(): unknown {
    return this.options.principal;
  }

  get status(): SessionStatus {
    const reply = this.reply;
    if (!reply) return 'idle';
    return reply.paused ? 'paused' : reply.status;
  }

  get connectionsAttached(): number {
    return this.outlet.size;
  }

  get attached(): boolean {
    return this.outlet.size > 0;
  }

  /** The reply running now, if any (for the answers to control messages, `session-control.ts`). */
  get runningReply(): RunningReply | undefined {
    return this.reply;
  }

  get busy(): boolean {
    return this.reply !== undefined;
  }

  get lastSeq(): number {
    return this.log.lastSeq;
  }

  get heldBytes(): number {
    const messages = this.conversation.messages();
    // The conversation replaces its array on every change: the same array has the same size.
    if (this.historySize?.messages !== messages) this.historySize = { messages, bytes: historyBytes(messages) };
    return this.log.heldBytes + this.historySize.bytes + this.queue.bytes;
  }

  send(message: ServerMessageInput): void {
    if (this.ended) return;
    // Under backpressure only, chunks of one reply merge into one, sent once the socket drains;
    // a chunk too long for one frame goes out in pieces as the socket takes them.
    this.queue.send(message);
    if (this.queue.empty) return;
    this.outlet.watchDrain(() => this.drained());
    this.outlet.closeIfOver(this.queue.bytes);
  }

  sendDirect(message: ServerMessageInput): void {
    if (!this.ended) this.outlet.write(encodeServerMessage(message, this.options.nextMessageId()));
  }

  answer(to: Sender | undefined, message: ServerMessageInput): void {
    if (this.ended) return;
    if (!to) return this.send(message);
    // Counted (errors by code) as the stream's messages are.
    this.options.onSent?.(message);
    if ('remote' in to) return to.answer(message);
    this.outlet.writeTo(to, encodeServerMessage(message, this.options.nextMessageId()));
  }

  /** Answers the connection whose frame is being handled (see session-control's refuse). */
  answerSender(message: ServerMessageInput): void {
    this.answer(this.sender, message);
  }

  handle(message: SessionMessageIn, from?: Sender): void {
    if (this.ended) return;
    // Refusals go to the sender alone: another tab has nothing to do with them.
    this.sender = from;
    try {
      if (message.type === 'user_message') this.startReply(message);
      else if (message.type === 'control') control(this, message);
      else answerTool(this, message);
    } finally {
      this.sender = undefined;
    }
  }

  attach(
    next: Transport,
    replay: readonly string[] = [],
    options?: { readonly share?: boolean },
  ): Transport | undefined {
    // A connection that joins (share) holds the replay log from where the others stand until it acknowledges.
    const [previous, ...others] = this.outlet.attach(next, replay, options?.share === true, this.acknowledgedSeq);
    for (const other of others)
      other.close(CloseCode.SessionTakenOver, 'the session was resumed on another connection');
    // What still waits (a takeover while congested) goes out as the new connection takes it.
    if (!this.queue.empty || this.drainWaiters.length > 0) {
      this.outlet.watchDrain(() => this.drained());
      this.drained();
    }
    return previous;
  }

  detach(gone: Transport): boolean {
    if (!this.outlet.detach(gone)) return false;
    if (this.outlet.size > 0) {
      // Others still share the session: what only the one gone still needed may be dropped now,
      // and if it was the one held back for, the reply goes on at the others' pace.
      this.acknowledge(0);
      this.drained();
      return false;
    }
    this.released();
    return true;
  }

  closeConnection(code: number, reason: string): void {
    this.outlet.close(code, reason);
  }

  replaySince(lastSeq: number): ReplayResult {
    return this.log.since(lastSeq);
  }

  acknowledge(seq: number, from?: Transport): void {
    // A client cannot have more than was sent; acks repeat on every heartbeat. Shared, the log
    // keeps what the connection furthest behind has not acknowledged.
    const upTo = Math.min(this.outlet.acknowledge(Math.min(seq, this.log.lastSeq), from) ?? seq, this.log.lastSeq);
    if (upTo <= this.acknowledgedSeq) return;
    this.acknowledgedSeq = upTo;
    this.log.acknowledge(upTo);
    this.persistence?.acknowledged(upTo);
  }

  end(): void {
    this.ended = true;
    this.outlet.release();
    this.released();
    this.reply?.stop();
    this.reply = undefined;
    this.queue.clear();
    this.log.clear();
  }

  /**
   * The store cannot take writes: a running reply ends with a `store_unavailable` error (and its
   * model request is cancelled).
   */
  private storeFailed(): void {
    const reply = this.reply;
    if (!reply || reply.storeFailed) return;
    reply.storeFailed = true;
    this.send({
      type: 'error',
      data: {
        code: 'store_unavailable',
        message: 'the session store went away: the reply was stopped; send it again once the server recovers',
        retryable: true,
        requestId: reply.requestId,
      },
    });
    this.abortReply();
  }

  /** The connection is gone: frames go to the replay log only, and nobody waits for a drain. */
  private released(): void {
    this.queue.flush(true);
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const resolve of waiters) resolve();
    if (this.reply?.onDisconnect === 'cancel') this.abortReply();
  }

  private congested(): boolean {
    return this.outlet.congested();
  }

  private emit(message: ServerMessageInput): void {
    this.options.onSent?.(message);
    const seq = this.log.lastSeq + 1;
    const text = encodeServerMessage(message, this.options.nextMessageId(), seq);
    this.log.append(seq, text);
    this.persistence?.frameAppended(seq, text);
    this.outlet.write(text);
  }

  /**
   * Waits for the connection to take more: on each drain signal of its transport, held frames go
   * out while it is below its high-water mark; once all went, whoever waits is released.
   */
  private drained(): void {
    if (this.congested()) return;
    this.queue.flush(false);
    if (!this.queue.empty) return;
    this.outlet.stopDrainWatch();
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /** Resolves when the connection can take more (at once when it can, or when none is attached). */
  private whenWritable(): Promise<void> | undefined {
    if (!this.congested() && this.queue.empty) return undefined;
    this.outlet.watchDrain(() => this.drained());
    return new Promise((resolve) => this.drainWaiters.push(resolve));
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
    if (this.reply) return refuseBusy(this, message.id, 'a user_message arrived');
    const { text } = message.data;
    const { options } = this;
    if (text.length > options.maxMessageLength) {
      return refuse(
        this,
        message.id,
        'message_too_long',
        `the text has ${text.length} characters; this server accepts at most ${options.maxMessageLength}`,
        false,
      );
    }
    const attachments = this.takeAttachments(message);
    if (attachments === false) return;
    const persistence = this.persistence;
    if (persistence && !persistence.available()) {
      return refuse(
        this,
        message.id,
        'store_unavailable',
        'the session store cannot be reached: try again shortly',
        true,
      );
    }
    this.remember(message.id);
    const running = new RunningReply(message.id, message.data.options?.onDisconnect ?? options.onDisconnect);
    this.reply = running;
    persistence?.replyStarted(running.requestId);
    const { traceparent, tracestate } = message.data;
    const trace = options.telemetry?.startReply({
      sessionId: options.sessionId,
      requestId: message.id,
      principal: options.principal,
      text,
      ...(traceparent === undefined ? {} : { traceparent }),
      ...(tracestate === undefined ? {} : { tracestate }),
    });
    running.start(
      {
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
        limits: options.replyLimits,
        whenWritable: () => this.whenWritable(),
        timings: options.timings,
        // A child per reply, not per session: an idle session carries no logger of its own.
        logger: childLogger(options.logger, { sessionId: options.sessionId }),
        clientTools: message.data.clientTools,
        humanInTheLoop: options.humanInTheLoop,
        ...(attachments.length > 0 ? { attachments } : {}),
        ...(options.attachments ? { attachmentData: readAttachment(options.attachments.store) } : {}),
        trace: trace?.context,
      },
      {
        send: (frame) => this.send(frame),
        failed: (error) => this.replyFailed(running, error),
        ended: () => this.replyEnded(running),
      },
      trace,
    );
  }

  /**
   * The message's attachments checked and stored, as history keeps them; false once the message
   * was refused for one of them.
   */
  private takeAttachments(message: UserMessage): HistoryAttachment[] | false {
    const list = message.data.attachments ?? [];
    if (list.length === 0) return [];
    const config = this.options.attachments;
    if (!config) {
      refuse(this, message.id, 'unsupported_attachment', 'this server takes no attachments', false);
      return false;
    }
    const checked = checkAttachments(list, config.limits);
    if (!checked.ok) {
      refuse(this, message.id, checked.problem.code, checked.problem.message, false);
      return false;
    }
    return checked.attachments.map(({ history, data }) =>
      data === undefined ? history : { ...history, ref: config.store.put(history.mediaType, data) },
    );
  }

  private replyEnded(running: RunningReply): void {
    if (this.reply !== running) return;
    this.reply = undefined;
    this.sendSafely({ type: 'status', data: { status: 'idle', requestId: running.requestId } });
    this.persistence?.replyEnded(running.requestId);
  }

  /** Sending a frame of the reply failed inside the server: the reply stops with an `internal_error`. */
  private replyFailed(running: RunningReply, error: unknown): void {
    this.sendSafely(
      errorMessageFor(error, {
        requestId: running.requestId,
        logger: childLogger(this.options.logger, { sessionId: this.id }),
      }),
    );
    this.replyEnded(running);
  }

  /** Sends, logging a failure instead of throwing it: for the end of a reply that failed already. */
  private sendSafely(message: ServerMessageInput): void {
    try {
      this.send(message);
    } catch (error) {
      this.options.logger.error({ sessionId: this.id, err: error, type: message.type }, 'could not send a message');
    }
  }

  abortReply(): void {
    this.reply?.abort();
  }
}

/** The UTF-8 bytes of a history's text: contents, and tool calls' names and arguments. */
function historyBytes(messages: readonly HistoryMessage[]): number {
  let bytes = 0;
  for (const message of messages) {
    bytes +=
      Buffer.byteLength(message.content) + (message.reasoning === undefined ? 0 : Buffer.byteLength(message.reasoning));
    for (const call of message.toolCalls ?? [])
      bytes += Buffer.byteLength(call.arguments) + call.name.length + call.id.length;
  }
  return bytes;
}

/** Creates a session with no connection yet. */
export function createSession(options: SessionOptions): Session {
  return new SessionState(options);
}
