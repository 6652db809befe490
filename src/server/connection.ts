/**
 * One WebSocket connection, transport-agnostic: it greets, decodes, rate-limits, answers pings
 * and resumes, and hands everything else to its session.
 */
import * as E from 'fp-ts/Either';
import type { ProtocolError } from '../errors';
import type { ResumeMessage } from '../protocol/codecs';
import { CloseCode, type ErrorCode } from '../protocol/codes';
import { decodeClientMessage, type RawFrame } from '../protocol/decode';
import { secretsEqual } from './auth';
import type { Logger } from './logger';
import type { ResumeOutcome } from './metrics';
import type { Session, SessionTransport } from './session';
import { createTokenBucket, type RateLimit, type TokenBucket } from './token-bucket';
import { errorMessageFor } from './reply';

/** Where a connection finds and leaves sessions; the server keeps them. */
export interface SessionRegistry {
  /** A new, registered session for a connection of `principal`. */
  create(principal: unknown): Session;
  find(sessionId: string): Session | undefined;
  /** Disposes and forgets a session. */
  discard(session: Session): void;
  /** A connection took the session: it must not expire. */
  attached(session: Session): void;
  /** The session lost its connection: it may expire. */
  detached(session: Session): void;
  /** A resume moved the session to a new connection. */
  resumed(session: Session): void;
}

/** Everything a connection is made from. */
export interface ConnectionOptions {
  readonly transport: SessionTransport;
  readonly principal: unknown;
  readonly registry: SessionRegistry;
  /** Frames per connection; more are answered with `rate_limited`. Undefined for no limit. */
  readonly rateLimit: RateLimit | undefined;
  readonly logger: Logger;
  /** Told about every frame the client got wrong (it has already been answered with an error). */
  readonly onProtocolError?: (sessionId: string, error: ProtocolError) => void;
  /** Told what each resume came to (for metrics). */
  readonly onResume?: (outcome: ResumeOutcome) => void;
}

/** A connection, as the adapter drives it. */
export interface Connection {
  /** The session the connection talks to now (a resume changes it). */
  readonly session: Session;
  receive(raw: RawFrame, isBinary: boolean): void;
  closed(): void;
}

/** A connection as a class: an idle connection costs its fields, not a closure per handler. */
class ConnectionState implements Connection {
  private current: Session;
  private readonly bucket: TokenBucket | undefined;

  constructor(private readonly options: ConnectionOptions) {
    this.bucket = options.rateLimit ? createTokenBucket(options.rateLimit) : undefined;
    const session = options.registry.create(options.principal);
    this.current = session;
    session.attach(options.transport);
    options.registry.attached(session);
    session.sendDirect({ type: 'session', data: { sessionId: session.id, resumeToken: session.resumeToken } });
  }

  get session(): Session {
    return this.current;
  }

  receive(raw: RawFrame, isBinary: boolean): void {
    try {
      if (isBinary) {
        return this.fail({ code: 'unsupported_frame', message: 'binary frames are not supported: send JSON text frames', retryable: false });
      }
      const decoded = decodeClientMessage(raw);
      const requestId = E.isRight(decoded) ? decoded.right.id : decoded.left.requestId;
      if (this.bucket && !this.bucket.take()) {
        const limit = this.options.rateLimit as RateLimit;
        return this.fail(
          { code: 'rate_limited', message: `more than ${limit.ratePerSecond} messages a second (bursts of ${limit.burst}): slow down`, retryable: true },
          requestId,
        );
      }
      if (E.isLeft(decoded)) {
        const problem = decoded.left;
        this.options.onProtocolError?.(this.current.id, problem);
        return this.fail({ code: problem.code, message: problem.message, retryable: false }, requestId);
      }
      const message = decoded.right;
      switch (message.type) {
        case 'ping':
          if (message.data?.lastSeq !== undefined) this.current.acknowledge(message.data.lastSeq);
          return this.current.sendDirect({ type: 'pong', data: { requestId: message.id } });
        case 'resume':
          return this.resume(message);
        default:
          return this.current.handle(message);
      }
    } catch (error) {
      // A bug of ours must cost this one frame, not the process or the other sessions.
      this.current.send(errorMessageFor(error, { logger: this.options.logger }));
    }
  }

  closed(): void {
    if (this.current.detach(this.options.transport)) this.options.registry.detached(this.current);
  }

  /** A request-level error, into the session's stream. */
  private fail(error: { code: ErrorCode; message: string; retryable: boolean }, requestId?: string): void {
    this.current.send({ type: 'error', data: { ...error, ...(requestId ? { requestId } : {}) } });
  }

  private resume(message: ResumeMessage): void {
    const { registry, transport } = this.options;
    const { sessionId, resumeToken, lastSeq } = message.data;
    const fresh = this.current;
    const refuse = (code: 'session_lost' | 'resume_gap' | 'invalid_message', text: string): void => {
      if (code !== 'invalid_message') this.options.onResume?.(code);
      // Connection-level: the answer to a resume is not part of either session's stream.
      fresh.sendDirect({ type: 'error', data: { code, message: text, retryable: false, requestId: message.id } });
    };
    if (fresh.lastSeq > 0 || fresh.busy || fresh.conversation.messages().length > 0) {
      return refuse('invalid_message', 'resume must be the first message on a connection');
    }
    const target = registry.find(sessionId);
    if (!target) return refuse('session_lost', `session ${sessionId} is gone (expired, or the server restarted): carry on with session ${fresh.id}`);
    if (!secretsEqual(target.resumeToken, resumeToken)) {
      transport.close(CloseCode.Forbidden, 'wrong resume token');
      return;
    }
    const replay = target.replaySince(lastSeq);
    if ('gap' in replay) {
      registry.discard(target);
      return refuse('resume_gap', `messages ${lastSeq + 1} to ${replay.gap.oldestHeld - 1} are no longer held: carry on with session ${fresh.id}`);
    }
    this.current = target;
    registry.discard(fresh);
    const previous = target.attach(transport, replay.frames);
    previous?.close(CloseCode.SessionTakenOver, 'the session was resumed on another connection');
    registry.attached(target);
    registry.resumed(target);
    this.options.onResume?.('resumed');
    target.sendDirect({
      type: 'session',
      data: { sessionId: target.id, resumeToken: target.resumeToken, resumed: true, requestId: message.id, lastSeq: target.lastSeq },
    });
  }
}

/** Accepts a connection: gives it a new session and greets the client with it. */
export function createConnection(options: ConnectionOptions): Connection {
  return new ConnectionState(options);
}
