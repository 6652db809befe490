/**
 * One conversation, transport-agnostic: it outlives its connections. A connection attaches,
 * detaches, and another may attach later and resume; meanwhile a running reply streams into the
 * session's replay log. It sees only its transport (see `ports.ts`) and, when a store keeps its
 * state, that store's persistence hooks; it is always the writer of its stream.
 */
import { acceptMessage, storeAvailable } from './message-intake';
import type {
  HistoryMessage,
  ServerMessageInput,
  SessionMessageIn,
  SessionStatus,
  Usage,
  UserMessage,
} from '../protocol/codecs';
import { encodeServerMessage } from '../protocol/decode';
import { addUsage } from './reply/reply-state';
import { type Conversation, createConversation, historyBytes } from './conversation';
import { encodeRun, lastSeqOf } from '../protocol/replay-runs';
import { childLogger } from './logger';
import type { BackpressureLimits } from './connection-writer';
import { SessionConnections } from './session-connections';
import { CloseCode } from '../protocol/codes';
import type { Sender, Session, SessionPersistence, Transport } from './ports';
import type { SessionOptions } from './session-options';

export type { Session, SessionOptions };
import { ReplayLog, type ReplayResult } from './replay-log';
import { SendQueue } from './send-queue';
import { errorMessageFor } from './error-message';
import type { RunningReply } from './running-reply';
import { replyTo, startReply } from './reply-start';
import {
  DEFAULT_CONCURRENT_MESSAGES,
  DEFAULT_MAX_QUEUED_MESSAGES,
  neverRan,
  type WaitingMessage,
  WaitingMessages,
} from './waiting-messages';
import { answerTool, control, refuse, refuseBusy } from './session-control';

export type { BackpressureLimits };

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
  private readonly connections: SessionConnections;
  /** The connection whose frame is being handled, while it is. */
  private sender: Sender | undefined;
  /** Created on the first user_message: an idle session needs none. */
  private seenRequestIds: Set<string> | undefined;
  private reply: RunningReply | undefined;
  /** Messages that arrived while the reply ran, waiting for their turn. */
  private readonly waiting: WaitingMessages;
  private ended = false;
  /** The highest seq the client acknowledged: repeated acks (every heartbeat) cost nothing. */
  private acknowledgedSeq = 0;
  // Backpressure: messages waiting for the connection to drain, and who waits for that.
  private readonly queue = new SendQueue({ congested: () => this.congested(), emit: (message) => this.emit(message) });
  /** The history `heldBytes` last measured, and its size: recounted only when the history changes. */
  private historySize: { messages: readonly HistoryMessage[]; bytes: number } | undefined;
  private drainWaiters: Array<() => void> = [];
  /** What the session's replies used, summed over their `llm_complete`s (see `get_status`), from the store's total on. */
  usage: Usage | undefined;

  constructor(private readonly options: SessionOptions) {
    const persistence = options.persistence;
    this.persistence = persistence;
    this.connections = new SessionConnections(options.backpressure, options.logger, options.sessionId);
    this.waiting = new WaitingMessages(
      options.concurrentMessages ?? DEFAULT_CONCURRENT_MESSAGES,
      options.maxQueuedMessages ?? DEFAULT_MAX_QUEUED_MESSAGES,
    );
    this.conversation = persistence
      ? createConversation(options.conversation, {
          history: persistence.history,
          onChange: (messages) => persistence.historyChanged(messages),
        })
      : createConversation(options.conversation);
    this.rememberAll(persistence?.requestIds);
    this.usage = persistence?.usage;
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
    return this.connections.size;
  }

  get attached(): boolean {
    return this.connections.size > 0;
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
    this.connections.watchDrain(() => this.drained());
    this.connections.closeIfOver(this.queue.bytes);
  }

  sendDirect(message: ServerMessageInput): void {
    if (!this.ended) this.connections.write(encodeServerMessage(message, this.options.nextMessageId()));
  }

  answer(to: Sender | undefined, message: ServerMessageInput): void {
    if (this.ended) return;
    if (!to) return this.send(message);
    // Counted (errors by code) as the stream's messages are.
    this.options.onSent?.(message);
    if ('remote' in to) return to.answer(message);
    this.connections.writeTo(to, encodeServerMessage(message, this.options.nextMessageId()));
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
    const [previous, ...others] = this.connections.attach(next, replay, options?.share === true, this.acknowledgedSeq);
    for (const other of others)
      other.close(CloseCode.SessionTakenOver, 'the session was resumed on another connection');
    // What still waits (a takeover while congested) goes out as the new connection takes it.
    if (!this.queue.empty || this.drainWaiters.length > 0) {
      this.connections.watchDrain(() => this.drained());
      this.drained();
    }
    return previous;
  }

  detach(gone: Transport): boolean {
    if (!this.connections.detach(gone)) return false;
    if (this.connections.size > 0) {
      // Others still share the session: what only the one gone still needed may be dropped now,
      // and if it was the one held back for, the reply goes on at the others' pace.
      this.acknowledge(0);
      this.drained();
      return false;
    }
    this.lastConnectionGone();
    return true;
  }

  closeConnection(code: number, reason: string): void {
    this.connections.close(code, reason);
  }

  replaySince(lastSeq: number): ReplayResult {
    return this.log.since(lastSeq);
  }

  acknowledge(seq: number, from?: Transport): void {
    // A client cannot have more than was sent; acks repeat on every heartbeat. Shared, the log
    // keeps what the connection furthest behind has not acknowledged.
    const upTo = Math.min(this.connections.acknowledge(Math.min(seq, this.log.lastSeq), from) ?? seq, this.log.lastSeq);
    if (upTo <= this.acknowledgedSeq) return;
    this.acknowledgedSeq = upTo;
    this.log.acknowledge(upTo);
    this.persistence?.acknowledged(upTo);
  }

  end(): void {
    const first = !this.ended;
    this.ended = true;
    this.connections.detachAll();
    this.lastConnectionGone();
    this.reply?.stop();
    this.reply = undefined;
    this.waiting.clear();
    this.queue.clear();
    this.log.clear();
    if (first) this.persistence?.ended?.();
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
  private lastConnectionGone(): void {
    this.queue.flush(true);
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const resolve of waiters) resolve();
    if (this.reply?.onDisconnect === 'cancel') this.abortReply();
  }

  private congested(): boolean {
    return this.connections.congested();
  }

  private emit(message: ServerMessageInput): void {
    this.options.onSent?.(message);
    const seq = this.log.lastSeq + 1;
    const id = this.options.nextMessageId();
    const text = encodeServerMessage(message, id, seq);
    const sealed = this.log.append(seq, text, message, id);
    const persistence = this.persistence;
    if (persistence) {
      const coalesce =
        sealed && persistence.framesCoalesced
          ? () => persistence.framesCoalesced?.(sealed.firstSeq, lastSeqOf(sealed), encodeRun(sealed))
          : undefined;
      // The store's log keeps seqs in order: a run that ended before this frame goes in before it.
      if (coalesce && sealed && lastSeqOf(sealed) < seq) coalesce();
      persistence.frameAppended(seq, text);
      if (coalesce && sealed && lastSeqOf(sealed) === seq) coalesce();
    }
    this.connections.write(text);
  }

  /**
   * Waits for the connection to take more: on each drain signal of its transport, held frames go
   * out while it is below its high-water mark; once all went, whoever waits is released.
   */
  private drained(): void {
    if (this.congested()) return;
    this.queue.flush(false);
    if (!this.queue.empty) return;
    this.connections.stopDrainWatch();
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /** Resolves when the connection can take more (at once when it can, or when none is attached). */
  private whenWritable(): Promise<void> | undefined {
    if (!this.congested() && this.queue.empty) return undefined;
    this.connections.watchDrain(() => this.drained());
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
    // A resend after a reconnect: the reply exists (running, waiting, or in the stream the resume replayed).
    if (this.seenRequestIds?.has(message.id)) return;
    // Refused as before any check, so a client of a server that refuses sees `busy` first.
    if (this.reply && this.waiting.mode === 'reject') return refuseBusy(this, message.id, 'a user_message arrived');
    const { options } = this;
    const attachments = acceptMessage(this, options, message);
    if (attachments === false) return;
    if (!this.reply) {
      this.remember(message.id);
      return this.run({ message, attachments });
    }
    const offered = this.waiting.offer({ message, attachments });
    if (offered.outcome === 'busy') return refuseBusy(this, message.id, 'a user_message arrived');
    if (offered.outcome === 'queue_full') {
      const max = options.maxQueuedMessages ?? DEFAULT_MAX_QUEUED_MESSAGES;
      return refuse(
        this,
        message.id,
        'queue_full',
        `${max} messages already wait behind reply ${this.reply.requestId} (maxQueuedMessages): send it again once a reply ended`,
        true,
      );
    }
    this.remember(message.id);
    if (offered.outcome === 'queued') return;
    // interrupt: what waited gives way to the newest message, and the running reply stops for it.
    for (const dropped of offered.dropped) this.send(neverRan(dropped.message.id));
    this.abortReply();
  }

  /** Runs the reply to an accepted message. */
  private run(accepted: WaitingMessage): void {
    const running = replyTo(this.options, accepted.message);
    this.reply = running;
    this.persistence?.replyStarted(running.requestId);
    startReply(this.options, running, {
      ...accepted,
      conversation: this.conversation,
      whenWritable: () => this.whenWritable(),
      sink: {
        send: (frame) => {
          if (frame.type === 'llm_complete' && frame.data.usage) this.usageAdded(frame.data.usage);
          this.send(frame);
        },
        failed: (error) => this.replyFailed(running, error),
        ended: () => this.replyEnded(running),
      },
    });
  }

  /** A reply's `llm_complete` reported usage: the total grows, and the store keeps it (a conversation list shows it). */
  private usageAdded(usage: Usage): void {
    const total = addUsage(this.usage, usage) ?? usage;
    this.usage = total;
    this.persistence?.usageChanged?.(total);
  }

  /** Takes a waiting message off the queue (its sender aborted it): it ends as a reply aborted before its start. */
  dropWaiting(requestId: string): boolean {
    if (!this.waiting.remove(requestId)) return false;
    this.send(neverRan(requestId));
    return true;
  }

  private replyEnded(running: RunningReply): void {
    if (this.reply !== running) return;
    this.reply = undefined;
    this.sendSafely({ type: 'status', data: { status: 'idle', requestId: running.requestId } });
    this.persistence?.replyEnded(running.requestId);
    // The next message waiting is answered now, in the order they came.
    let next = this.ended ? undefined : this.waiting.next();
    while (next && !storeAvailable(this, this.persistence, next.message.id)) next = this.waiting.next();
    if (next) this.run(next);
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

/** Creates a session with no connection yet. */
export function createSession(options: SessionOptions): Session {
  return new SessionState(options);
}
