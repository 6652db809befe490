/**
 * One conversation, transport-agnostic: it outlives its connections. A connection attaches,
 * detaches, and another may attach later and resume; meanwhile a running reply streams into the
 * session's replay log. It sees only `send(text)`, `close(code, reason)` and `bufferedAmount()`.
 */
import { BehaviorSubject, interval, Subject, type Subscription } from 'rxjs';
import type { LLMProvider } from '../llm/types';
import type { ControlMessage, ServerMessageInput, SessionStatus, UserMessage } from '../protocol/codecs';
import { CloseCode } from '../protocol/codes';
import { encodeServerMessage } from '../protocol/decode';
import { holdWhilePaused } from '../operators/hold-while-paused';
import type { ToolRegistry } from '../tools/registry';
import { type Conversation, type ConversationOptions, createConversation } from './conversation';
import type { Logger } from './logger';
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
  /** The frames a client that saw up to `lastSeq` missed. */
  replaySince(lastSeq: number): ReplayResult;
  /** The client has the stream up to `seq`. */
  acknowledge(seq: number): void;
  /** Ends the session: cancels the running reply (and with it the model request). */
  dispose(): void;
}

interface RunningReply {
  readonly requestId: string;
  readonly abort$: Subject<void>;
  readonly paused$: BehaviorSubject<boolean>;
  readonly onDisconnect: 'continue' | 'cancel';
  subscription?: Subscription;
}

/** How many `user_message` ids a session remembers to recognise a resend. */
const REMEMBERED_REQUEST_IDS = 1000;
/** How often a congested connection is checked for draining, in ms. */
const DRAIN_POLL_MS = 10;

/** Creates a session with no connection yet. */
export function createSession(options: SessionOptions): Session {
  const { logger } = options;
  const conversation = createConversation(options.conversation);
  const log = new ReplayLog(options.replay);
  const seenRequestIds = new Set<string>();
  let transport: SessionTransport | undefined;
  let reply: RunningReply | undefined;
  let deliveredStatus: SessionStatus = 'idle';
  let disposed = false;
  // Backpressure: chunk text waiting for the connection to drain, and who waits for that.
  let coalesced: { requestId: string; text: string } | undefined;
  let drainWaiters: Array<() => void> = [];
  let drainWatch: Subscription | undefined;

  const status = (): SessionStatus => (reply?.paused$.value ? 'paused' : deliveredStatus);
  const congested = (): boolean => transport !== undefined && transport.bufferedAmount() > options.backpressure.highWaterMark;

  const write = (text: string): void => {
    if (!transport) return;
    transport.send(text);
    if (transport.bufferedAmount() > options.backpressure.hardLimit) {
      // The connection goes; the session stays, and the client may resume from the replay log.
      logger.warn(`session ${options.sessionId}: client too slow, closing its connection (resumable)`);
      transport.close(CloseCode.TooSlow, 'client too slow: send buffer over its hard limit');
    }
  };

  const emit = (message: ServerMessageInput): void => {
    if (message.type === 'status') deliveredStatus = message.data.status;
    options.onSent?.(message);
    const seq = log.lastSeq + 1;
    const text = encodeServerMessage(message, options.nextMessageId(), seq);
    log.append(seq, text);
    write(text);
  };

  const flushCoalesced = (): void => {
    if (!coalesced) return;
    const { requestId, text } = coalesced;
    coalesced = undefined;
    emit({ type: 'llm_chunk', data: { chunk: text, isComplete: false, requestId } });
  };

  const watchDrain = (): void => {
    if (drainWatch) return;
    drainWatch = interval(DRAIN_POLL_MS).subscribe(() => {
      if (congested()) return;
      drainWatch?.unsubscribe();
      drainWatch = undefined;
      flushCoalesced();
      const waiters = drainWaiters;
      drainWaiters = [];
      for (const resolve of waiters) resolve();
    });
  };

  /** Resolves when the connection can take more (at once when it can, or when none is attached). */
  const whenWritable = (): Promise<void> | undefined => {
    if (!congested()) return undefined;
    watchDrain();
    return new Promise((resolve) => drainWaiters.push(resolve));
  };

  const send = (message: ServerMessageInput): void => {
    if (disposed) return;
    // Under backpressure only: merge chunks of one reply into one frame, sent once the socket drains.
    if (message.type === 'llm_chunk' && !message.data.isComplete && congested()) {
      if (coalesced && coalesced.requestId !== message.data.requestId) flushCoalesced();
      coalesced = { requestId: message.data.requestId, text: (coalesced?.text ?? '') + message.data.chunk };
      watchDrain();
      return;
    }
    flushCoalesced();
    emit(message);
  };

  const sendDirect = (message: ServerMessageInput): void => {
    if (!disposed) write(encodeServerMessage(message, options.nextMessageId()));
  };

  const answerStatus = (requestId: string): void => send({ type: 'status', data: { status: status(), requestId } });
  const answerHistory = (requestId: string): void =>
    send({ type: 'history', data: { messages: [...conversation.messages()], requestId } });
  const refuse = (requestId: string, code: 'busy' | 'message_too_long', message: string, retryable: boolean): void =>
    send({ type: 'error', data: { code, message, retryable, requestId } });
  const refuseBusy = (requestId: string, what: string): void =>
    refuse(requestId, 'busy', `${what} while reply ${reply?.requestId} is running: wait for its llm_complete or abort it`, true);

  const remember = (requestId: string): void => {
    seenRequestIds.add(requestId);
    if (seenRequestIds.size > REMEMBERED_REQUEST_IDS) seenRequestIds.delete(seenRequestIds.values().next().value as string);
  };

  const startReply = (message: UserMessage): void => {
    // A resend after a reconnect: the reply exists (running, or in the stream the resume replayed).
    if (seenRequestIds.has(message.id)) return;
    if (reply) return refuseBusy(message.id, 'a user_message arrived');
    const { text } = message.data;
    if (text.length > options.maxMessageLength) {
      return refuse(message.id, 'message_too_long', `the text has ${text.length} characters; this server accepts at most ${options.maxMessageLength}`, false);
    }
    remember(message.id);
    const running: RunningReply = {
      requestId: message.id,
      abort$: new Subject(),
      paused$: new BehaviorSubject(false),
      onDisconnect: message.data.options?.onDisconnect ?? options.onDisconnect,
    };
    reply = running;
    running.subscription = runReply({
      requestId: message.id,
      sessionId: options.sessionId,
      principal: options.principal,
      text,
      options: message.data.options ?? {},
      conversation,
      provider: options.provider,
      tools: options.tools,
      maxToolSteps: options.maxToolSteps,
      idleTimeoutMs: options.idleTimeoutMs,
      abort$: running.abort$,
      whenWritable,
      timings: options.timings,
      logger,
    })
      .pipe(holdWhilePaused(running.paused$))
      .subscribe({
        next: send,
        complete: () => {
          reply = undefined;
          send({ type: 'status', data: { status: 'idle', requestId: running.requestId } });
        },
      });
  };

  const abortReply = (): void => {
    if (!reply) return;
    // Held frames go out first, then the aborted ending: the client's text stays whole.
    reply.paused$.next(false);
    reply.abort$.next();
  };

  const control = (message: ControlMessage): void => {
    const { id } = message;
    switch (message.data.type) {
      case 'abort': {
        const target = message.data.requestId;
        if (target === undefined || target === reply?.requestId) abortReply();
        return answerStatus(id);
      }
      case 'pause':
        reply?.paused$.next(true);
        return answerStatus(id);
      case 'resume':
        reply?.paused$.next(false);
        return answerStatus(id);
      case 'clear_history':
        if (reply) return refuseBusy(id, 'clear_history arrived');
        conversation.clear();
        return answerHistory(id);
      case 'get_history':
        return answerHistory(id);
      case 'get_status':
        return answerStatus(id);
    }
  };

  const detach = (): void => {
    transport = undefined;
    // Nobody to wait for any more: frames go to the replay log only.
    flushCoalesced();
    const waiters = drainWaiters;
    drainWaiters = [];
    for (const resolve of waiters) resolve();
    if (reply?.onDisconnect === 'cancel') abortReply();
  };

  return {
    id: options.sessionId,
    resumeToken: options.resumeToken,
    principal: options.principal,
    conversation,
    get status() {
      return status();
    },
    get attached() {
      return transport !== undefined;
    },
    get busy() {
      return reply !== undefined;
    },
    get lastSeq() {
      return log.lastSeq;
    },
    sendDirect,
    send,
    handle: (message) => {
      if (disposed) return;
      if (message.type === 'user_message') startReply(message);
      else control(message);
    },
    attach: (next, replay = []) => {
      const previous = transport;
      transport = next;
      for (const frame of replay) write(frame);
      return previous === next ? undefined : previous;
    },
    detach: (gone) => {
      if (transport !== gone) return false;
      detach();
      return true;
    },
    replaySince: (lastSeq) => log.since(lastSeq),
    acknowledge: (seq) => log.acknowledge(seq),
    dispose: () => {
      disposed = true;
      detach();
      drainWatch?.unsubscribe();
      reply?.subscription?.unsubscribe();
      reply = undefined;
      log.clear();
    },
  };
}
