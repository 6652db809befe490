/**
 * One WebSocket connection, transport-agnostic: it greets, decodes, rate-limits, answers pings
 * and resumes, and hands everything else to its session.
 */
import * as E from 'fp-ts/Either';
import type { ProtocolError } from '../errors';
import type {
  ConcurrentMessages,
  ConversationRequest,
  OpenConversationMessage,
  ResumeMessage,
  ServerMessageInput,
} from '../protocol/codecs';
import { CloseCode, type ErrorCode } from '../protocol/codes';
import { decodeClientMessage, type RawFrame } from '../protocol/decode';
import type { ClaimResult, Logger, Session, SessionDirectory, Transport } from './ports';
import type { CoreSessions } from './sessions';
import { createTokenBucket, type RateLimit, type TokenBucket } from './token-bucket';
import { errorMessageFor } from './error-message';
import { HeldFrames } from './held-frames';
import { answerConversationRequest, notFound } from './conversation-requests';

/** What a resume came to, as `/metrics` counts it. */
export type ResumeOutcome = 'resumed' | 'session_lost' | 'resume_gap';

/** Everything a connection is made from. */
export interface ConnectionOptions {
  readonly transport: Transport;
  readonly principal: unknown;
  /** Where the connection finds and leaves its sessions: the store's side. */
  readonly directory: SessionDirectory;
  /** This process's sessions (the core's side: expiry, budget). */
  readonly sessions: CoreSessions;
  /** Frames per connection; more are answered with `rate_limited`. Undefined for no limit. */
  readonly rateLimit: RateLimit | undefined;
  /** Connections one session may have at once (on this process); a shared resume past it closes 4429. @default DEFAULT_MAX_CONNECTIONS_PER_SESSION */
  readonly maxConnectionsPerSession?: number;
  /** What the sessions do with a message sent while a reply runs: the greeting tells the client. @default none said (a client then sends one at a time) */
  readonly concurrentMessages?: ConcurrentMessages;
  readonly logger: Logger;
  /** Told about every frame the client got wrong (it has already been answered with an error). */
  readonly onProtocolError?: (sessionId: string, error: ProtocolError) => void;
  /** Told what each resume came to (for metrics). */
  /** A resume was answered; a resumed one says how many messages it replayed. */
  readonly onResume?: (outcome: ResumeOutcome, replayedMessages?: number) => void;
  /** Told when a session was resumed on this connection. */
  readonly onResumed?: (session: Session) => void;
  /** Told when the connection has closed, with the session it was on last. */
  readonly onClosed?: (sessionId: string, code: number, reason: string) => void;
}

/** A connection, as the adapter drives it. */
export interface Connection {
  /** The session the connection talks to now (a resume changes it). */
  readonly session: Session;
  receive(raw: RawFrame, isBinary: boolean): void;
  /** The connection closed with this code and reason. */
  closed(code: number, reason: string): void;
}

/**
 * Connections (tabs) one session may have at once on one process unless configured: each costs a
 * send of every frame of the session's stream.
 */
export const DEFAULT_MAX_CONNECTIONS_PER_SESSION = 32;

/** A connection as a class: an idle connection costs its fields, not a closure per handler. */
class ConnectionState implements Connection {
  private current: Session;
  private readonly bucket: TokenBucket | undefined;
  /** Frames that arrived while an asynchronous resume (or opening) was settled, handled once it is. */
  private held: HeldFrames<[RawFrame, boolean]> | undefined;
  private isClosed = false;
  /** Whether a frame came before: a `resume` is taken only as the first one, while the fresh session holds nothing. */
  private heard = false;

  constructor(private readonly options: ConnectionOptions) {
    this.bucket = options.rateLimit ? createTokenBucket(options.rateLimit) : undefined;
    const session = options.directory.create(options.principal);
    this.current = session;
    session.attach(options.transport);
    this.attached(session);
    session.sendDirect({
      type: 'session',
      data: { sessionId: session.id, resumeToken: session.resumeToken, ...this.concurrency() },
    });
  }

  get session(): Session {
    return this.current;
  }

  receive(raw: RawFrame, isBinary: boolean): void {
    if (this.held) {
      if (this.held.hold([raw, isBinary]) === undefined)
        this.fail({
          code: 'rate_limited',
          message: 'too many messages while the resume is settled: slow down',
          retryable: true,
        });
      return;
    }
    const first = !this.heard;
    this.heard = true;
    try {
      // Every frame spends a token, binary ones too: each is answered, so each costs the server.
      const limited = this.bucket !== undefined && !this.bucket.take();
      if (isBinary) {
        return limited
          ? this.rateLimited(undefined)
          : this.fail({
              code: 'unsupported_frame',
              message: 'binary frames are not supported: send JSON text frames',
              retryable: false,
            });
      }
      const decoded = decodeClientMessage(raw);
      const requestId = E.isRight(decoded) ? decoded.right.id : decoded.left.requestId;
      if (limited) return this.rateLimited(requestId);
      if (E.isLeft(decoded)) {
        const problem = decoded.left;
        this.options.onProtocolError?.(this.current.id, problem);
        return this.fail({ code: problem.code, message: problem.message, retryable: false }, requestId);
      }
      const message = decoded.right;
      switch (message.type) {
        case 'ping':
          if (message.data?.lastSeq !== undefined)
            this.current.acknowledge(message.data.lastSeq, this.options.transport);
          return this.current.answer(this.options.transport, { type: 'pong', data: { requestId: message.id } });
        case 'resume':
          return first
            ? this.resume(message)
            : this.refuseResume(message, 'invalid_message', 'resume must be the first message on a connection');
        case 'list_conversations':
        case 'open_conversation':
        case 'rename_conversation':
        case 'delete_conversation':
          return this.conversationRequest(message);
        default:
          return this.current.handle(message, this.options.transport);
      }
    } catch (error) {
      // A bug of ours must cost this one frame, not the process or the other sessions.
      this.current.answer(this.options.transport, errorMessageFor(error, { logger: this.options.logger }));
    }
  }

  closed(code: number, reason: string): void {
    this.isClosed = true;
    if (this.current.detach(this.options.transport)) this.options.directory.detached(this.current);
    this.options.onClosed?.(this.current.id, code, reason);
  }

  private rateLimited(requestId: string | undefined): void {
    const limit = this.options.rateLimit as RateLimit;
    this.fail(
      {
        code: 'rate_limited',
        message: `more than ${limit.ratePerSecond} messages a second (bursts of ${limit.burst}): slow down`,
        retryable: true,
        // When the next frame would be taken: what a client's retryWithBackoff waits at least.
        retryAfterMs: (this.bucket as TokenBucket).msUntilToken(),
      },
      requestId,
    );
  }

  /** A refusal of a frame: to this connection alone, not into the session's stream (other tabs share it). */
  private fail(
    error: { code: ErrorCode; message: string; retryable: boolean; retryAfterMs?: number },
    requestId?: string,
  ): void {
    this.current.answer(this.options.transport, {
      type: 'error',
      data: { ...error, ...(requestId ? { requestId } : {}) },
    });
  }

  private resume(message: ResumeMessage): void {
    const { sessionId, resumeToken, lastSeq } = message.data;
    const claimed = this.options.directory.claim(sessionId, resumeToken, lastSeq, {
      share: message.data.share === true,
      principal: this.options.principal,
    });
    if (!(claimed instanceof Promise)) return this.settleResume(message, claimed);
    this.held = new HeldFrames();
    claimed
      .then(
        (result) => this.settleResume(message, result),
        (error: unknown) => {
          // The store is away: the session may well exist, so the client must come back, not move on.
          this.options.logger.warn({ err: error, sessionId }, 'resume failed: the session store did not answer');
          this.options.transport.close(CloseCode.TryAgainLater, 'session store unavailable: try again shortly');
        },
      )
      .catch((error: unknown) => {
        // A bug of ours while settling must cost this connection, not the process.
        this.options.logger.error({ err: error, sessionId }, 'resume failed inside the server');
        this.options.transport.close(CloseCode.TryAgainLater, 'the resume failed: try again');
      })
      .finally(() => this.handleHeld());
  }

  /** The wait is over: the frames held meanwhile go to the session the connection is on now. */
  private handleHeld(): void {
    const held = this.held?.takeAll() ?? [];
    this.held = undefined;
    if (!this.isClosed) for (const [raw, isBinary] of held) this.receive(raw, isBinary);
  }

  /** A request about the principal's conversations: answered to this connection alone. */
  private conversationRequest(message: ConversationRequest): void {
    const { directory, transport, principal, logger } = this.options;
    const answer = (reply: ServerMessageInput): void => {
      if (!this.isClosed) this.current.answer(transport, reply);
    };
    const catalog = directory.conversations;
    if (!catalog) {
      return this.fail(
        { code: 'conversations_unsupported', message: 'this server keeps no conversation list', retryable: false },
        message.id,
      );
    }
    const failed = (error: unknown): void => {
      logger.warn(
        { err: error, type: message.type },
        'a conversation request failed: the session store did not answer',
      );
      answer({
        type: 'error',
        data: {
          code: 'store_unavailable',
          message: 'the session store cannot be reached: try again shortly',
          retryable: true,
          requestId: message.id,
        },
      });
    };
    if (message.type !== 'open_conversation') {
      // Deleting the conversation the connection is on: it goes on in a new one (the others on it are closed).
      if (message.type === 'delete_conversation' && message.data.conversationId === this.current.id)
        this.moveToNewSession(message.id);
      answerConversationRequest(catalog, principal, message, answer).catch(failed);
      return;
    }
    // Frames sent after it go to the conversation opened: they wait for it.
    this.held = new HeldFrames();
    catalog
      .open(principal, message.data.conversationId)
      .then((result) => this.settleOpen(message, result), failed)
      .catch((error: unknown) => {
        this.options.logger.error({ err: error }, 'opening a conversation failed inside the server');
        failed(error);
      })
      .finally(() => this.handleHeld());
  }

  /** The connection leaves its session for a new, empty one (confirmed with a `session` answering `requestId`). */
  private moveToNewSession(requestId: string): void {
    const left = this.current;
    const { directory, transport, principal } = this.options;
    if (left.detach(transport)) directory.detached(left);
    const fresh = directory.create(principal);
    this.current = fresh;
    fresh.attach(transport);
    this.attached(fresh);
    fresh.answer(transport, resumedGreeting(fresh, requestId, this.concurrency()));
  }

  /** The connection moves to the opened conversation's session, beside any connection on it already. */
  private settleOpen(message: OpenConversationMessage, result: ClaimResult): void {
    const { directory, transport } = this.options;
    const { conversationId } = message.data;
    if (result.outcome !== 'resumed') return this.current.answer(transport, notFound(conversationId, message.id));
    const target = result.session;
    if (this.isClosed) {
      if (!target.attached) directory.detached(target);
      return;
    }
    const left = this.current;
    if (target !== left) {
      if (left.detach(transport)) directory.detached(left);
      this.current = target;
      target.attach(transport, result.replay, { share: true });
      this.attached(target);
    }
    target.answer(transport, resumedGreeting(target, message.id, this.concurrency()));
    // The history as `get_history` answers it (siblingIds, usage), to this connection alone; on a
    // follower (which holds no history) the writer on another process answers.
    target.handle({ type: 'control', id: message.id, data: { type: 'get_history' } }, transport);
  }

  /** Connection-level: the answer to a resume is not part of either session's stream. */
  private refuseResume(
    message: ResumeMessage,
    code: 'session_lost' | 'resume_gap' | 'invalid_message',
    text: string,
  ): void {
    if (code !== 'invalid_message') this.options.onResume?.(code);
    this.current.sendDirect({ type: 'error', data: { code, message: text, retryable: false, requestId: message.id } });
  }

  private settleResume(message: ResumeMessage, result: ClaimResult): void {
    const { directory, transport } = this.options;
    const fresh = this.current;
    const { sessionId, lastSeq } = message.data;
    switch (result.outcome) {
      case 'session_lost':
        return this.refuseResume(
          message,
          'session_lost',
          `session ${sessionId} is gone (expired, or the server restarted): carry on with session ${fresh.id}`,
        );
      case 'resume_gap':
        return this.refuseResume(
          message,
          'resume_gap',
          `messages ${lastSeq + 1} to ${result.oldestHeld - 1} are no longer held: carry on with session ${fresh.id}`,
        );
      case 'forbidden':
        return transport.close(CloseCode.Forbidden, 'wrong resume token');
      case 'other_principal':
        // Refused like a wrong token: the session, its answers and its tools are its owner's alone.
        return transport.close(CloseCode.Forbidden, 'the session belongs to another principal');
    }
    const target = result.session;
    // A client cannot have read past the session's stream: such a resume is forged or confused, and changes nothing.
    const ahead = lastSeq > target.lastSeq;
    if (this.isClosed || ahead) {
      // The client left while the store answered (or is refused): the session waits for the next resume.
      if (!target.attached) directory.detached(target);
      if (ahead && !this.isClosed) {
        this.refuseResume(
          message,
          'invalid_message',
          `lastSeq ${lastSeq} is past the last message of session ${sessionId} (${target.lastSeq}): send the seq of the last message received`,
        );
      }
      return;
    }
    const share = message.data.share === true;
    // A takeover replaces the connections; a join adds one, and each costs a send per frame.
    if (
      share &&
      target.connectionsAttached >= (this.options.maxConnectionsPerSession ?? DEFAULT_MAX_CONNECTIONS_PER_SESSION)
    ) {
      if (!target.attached) directory.detached(target);
      return transport.close(
        CloseCode.TooManyConnections,
        `the session has ${target.connectionsAttached} connections, the most it takes: close one`,
      );
    }
    this.current = target;
    directory.end(fresh);
    const previous = target.attach(transport, result.replay, { share });
    previous?.close(CloseCode.SessionTakenOver, 'the session was resumed on another connection');
    this.attached(target);
    this.options.onResumed?.(target);
    this.options.onResume?.('resumed', target.lastSeq - lastSeq);
    target.sendDirect(resumedGreeting(target, message.id, this.concurrency()));
  }

  /** A connection is on `session` now: it must not expire. */
  private attached(session: Session): void {
    this.options.sessions.attached(session);
    this.options.directory.attached?.(session);
  }

  /** The greeting's word on concurrent messages, when the server has one. */
  private concurrency(): { concurrentMessages?: ConcurrentMessages } {
    const mode = this.options.concurrentMessages;
    return mode === undefined ? {} : { concurrentMessages: mode };
  }
}

/** The `session` message that confirms a connection is on `session` now, answering request `requestId`. */
function resumedGreeting(
  session: Session,
  requestId: string,
  concurrency: { concurrentMessages?: ConcurrentMessages },
): ServerMessageInput {
  return {
    type: 'session',
    data: {
      sessionId: session.id,
      resumeToken: session.resumeToken,
      resumed: true,
      requestId,
      lastSeq: session.lastSeq,
      ...concurrency,
    },
  };
}

/** Accepts a connection: gives it a new session and greets the client with it. */
export function createConnection(options: ConnectionOptions): Connection {
  return new ConnectionState(options);
}
