/**
 * The per-connection core, transport-agnostic: it sees incoming text, and answers through
 * `send(text)` and `close(code, reason)`. No sockets here; `adapters/ws.ts` supplies them.
 */
import * as E from 'fp-ts/Either';
import { BehaviorSubject, Subject, type Subscription } from 'rxjs';
import type { ProtocolError } from '../errors';
import type { LLMProvider } from '../llm/types';
import type {
  ControlMessage,
  ServerMessageInput,
  SessionStatus,
  UserMessage,
} from '../protocol/codecs';
import { decodeClientMessage, encodeMessage, type RawFrame, withId } from '../protocol/decode';
import { holdWhilePaused } from '../operators/hold-while-paused';
import type { ToolRegistry } from '../tools/registry';
import { type ConversationOptions, createConversation, type Conversation } from './conversation';
import type { Logger } from './logger';
import { errorMessageFor, runReply } from './reply';

/** What a session needs from its connection. */
export interface SessionTransport {
  send(text: string): void;
  close(code: number, reason: string): void;
}

/** Everything a session is made from. */
export interface SessionOptions {
  readonly sessionId: string;
  readonly transport: SessionTransport;
  readonly provider: LLMProvider;
  readonly tools: ToolRegistry;
  readonly conversation: ConversationOptions;
  readonly maxToolSteps: number;
  readonly idleTimeoutMs: number;
  readonly logger: Logger;
  /** Makes the `id` of each server message. */
  readonly nextMessageId: () => string;
  /** Told about every frame the client got wrong (it has already been answered with an error). */
  readonly onProtocolError?: (error: ProtocolError) => void;
}

/** One conversation with one client. */
export interface Session {
  readonly id: string;
  readonly conversation: Conversation;
  /** `paused` while paused, else what the running reply last told the client, else `idle`. */
  readonly status: SessionStatus;
  /** Handles one frame from the client. Never throws. */
  receive(raw: RawFrame, isBinary?: boolean): void;
  /** Sends a message, giving it an id. Does nothing once the session is disposed. */
  send(message: ServerMessageInput): void;
  /** The connection is gone: cancels the running reply (and with it the model request). */
  dispose(): void;
}

interface RunningReply {
  readonly requestId: string;
  readonly abort$: Subject<void>;
  readonly paused$: BehaviorSubject<boolean>;
  subscription?: Subscription;
}

/** Creates a session and greets the client with its `session` message. */
export function createSession(options: SessionOptions): Session {
  const { logger, transport } = options;
  const conversation = createConversation(options.conversation);
  let reply: RunningReply | undefined;
  let deliveredStatus: SessionStatus = 'idle';
  let disposed = false;

  const status = (): SessionStatus => (reply?.paused$.value ? 'paused' : deliveredStatus);

  const send = (message: ServerMessageInput): void => {
    if (disposed) return;
    if (message.type === 'status') deliveredStatus = message.data.status;
    transport.send(encodeMessage(withId(message, options.nextMessageId())));
  };

  const answerStatus = (requestId: string): void => send({ type: 'status', data: { status: status(), requestId } });
  const answerHistory = (requestId: string): void =>
    send({ type: 'history', data: { messages: [...conversation.messages()], requestId } });
  const refuseBusy = (requestId: string, what: string): void =>
    send({
      type: 'error',
      data: { code: 'busy', message: `${what} while reply ${reply?.requestId} is running: wait for its llm_complete or abort it`, retryable: true, requestId },
    });

  const startReply = (message: UserMessage): void => {
    if (reply) return refuseBusy(message.id, 'a user_message arrived');
    const running: RunningReply = { requestId: message.id, abort$: new Subject(), paused$: new BehaviorSubject(false) };
    reply = running;
    running.subscription = runReply({
      requestId: message.id,
      sessionId: options.sessionId,
      text: message.data.text,
      options: message.data.options ?? {},
      conversation,
      provider: options.provider,
      tools: options.tools,
      maxToolSteps: options.maxToolSteps,
      idleTimeoutMs: options.idleTimeoutMs,
      abort$: running.abort$,
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

  const control = (message: ControlMessage): void => {
    const { id } = message;
    switch (message.data.type) {
      case 'abort': {
        const target = message.data.requestId;
        if (reply && (target === undefined || target === reply.requestId)) {
          // Held frames go out first, then the aborted ending: the client's text stays whole.
          reply.paused$.next(false);
          reply.abort$.next();
        }
        return answerStatus(id);
      }
      case 'pause':
        if (reply) reply.paused$.next(true);
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

  const receive = (raw: RawFrame, isBinary = false): void => {
    if (disposed) return;
    try {
      if (isBinary) {
        return send({
          type: 'error',
          data: { code: 'unsupported_frame', message: 'binary frames are not supported: send JSON text frames', retryable: false },
        });
      }
      const decoded = decodeClientMessage(raw);
      if (E.isLeft(decoded)) {
        const error = decoded.left;
        options.onProtocolError?.(error);
        return send({
          type: 'error',
          data: { code: error.code, message: error.message, retryable: false, ...(error.requestId ? { requestId: error.requestId } : {}) },
        });
      }
      const message = decoded.right;
      switch (message.type) {
        case 'user_message':
          return startReply(message);
        case 'control':
          return control(message);
        case 'ping':
          return send({ type: 'pong', data: { requestId: message.id } });
      }
    } catch (error) {
      // A bug of ours must cost this one request, not the process or the other sessions.
      send(errorMessageFor(error, { logger }));
    }
  };

  send({ type: 'session', data: { sessionId: options.sessionId } });

  return {
    id: options.sessionId,
    conversation,
    get status() {
      return status();
    },
    receive,
    send,
    dispose: () => {
      disposed = true;
      reply?.subscription?.unsubscribe();
      reply = undefined;
    },
  };
}
