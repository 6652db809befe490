/**
 * One WebSocket connection, transport-agnostic: it greets, decodes, rate-limits, answers pings
 * and resumes, and hands everything else to its session.
 */
import * as E from 'fp-ts/Either';
import type { ProtocolError } from '../errors';
import type { ResumeMessage, ServerMessageInput } from '../protocol/codecs';
import { CloseCode } from '../protocol/codes';
import { decodeClientMessage, type RawFrame } from '../protocol/decode';
import { secretsEqual } from './auth';
import type { Logger } from './logger';
import type { ResumeOutcome } from './metrics';
import type { Session, SessionTransport } from './session';
import { createTokenBucket, type RateLimit } from './token-bucket';
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

/** Accepts a connection: gives it a new session and greets the client with it. */
export function createConnection(options: ConnectionOptions): Connection {
  const { transport, registry } = options;
  const bucket = options.rateLimit ? createTokenBucket(options.rateLimit) : undefined;
  let session = registry.create(options.principal);
  session.attach(transport);
  registry.attached(session);
  session.sendDirect({ type: 'session', data: { sessionId: session.id, resumeToken: session.resumeToken } });

  const fail = (message: ServerMessageInput & { type: 'error' }): void => session.send(message);

  const resume = (message: ResumeMessage): void => {
    const { sessionId, resumeToken, lastSeq } = message.data;
    const error = (code: 'session_lost' | 'resume_gap' | 'invalid_message', text: string): void => {
      if (code !== 'invalid_message') options.onResume?.(code);
      // Connection-level: the answer to a resume is not part of either session's stream.
      session.sendDirect({ type: 'error', data: { code, message: text, retryable: false, requestId: message.id } });
    };
    if (session.lastSeq > 0 || session.busy || session.conversation.messages().length > 0) {
      return error('invalid_message', 'resume must be the first message on a connection');
    }
    const target = registry.find(sessionId);
    if (!target) return error('session_lost', `session ${sessionId} is gone (expired, or the server restarted): carry on with session ${session.id}`);
    if (!secretsEqual(target.resumeToken, resumeToken)) {
      transport.close(CloseCode.Forbidden, 'wrong resume token');
      return;
    }
    const replay = target.replaySince(lastSeq);
    if ('gap' in replay) {
      registry.discard(target);
      return error('resume_gap', `messages ${lastSeq + 1} to ${replay.gap.oldestHeld - 1} are no longer held: carry on with session ${session.id}`);
    }
    const fresh = session;
    session = target;
    registry.discard(fresh);
    const previous = target.attach(transport, replay.frames);
    previous?.close(CloseCode.SessionTakenOver, 'the session was resumed on another connection');
    registry.attached(target);
    registry.resumed(target);
    options.onResume?.('resumed');
    target.sendDirect({
      type: 'session',
      data: { sessionId: target.id, resumeToken: target.resumeToken, resumed: true, requestId: message.id, lastSeq: target.lastSeq },
    });
  };

  const receive = (raw: RawFrame, isBinary: boolean): void => {
    try {
      if (isBinary) {
        return fail({ type: 'error', data: { code: 'unsupported_frame', message: 'binary frames are not supported: send JSON text frames', retryable: false } });
      }
      const decoded = decodeClientMessage(raw);
      const requestId = E.isRight(decoded) ? decoded.right.id : decoded.left.requestId;
      if (bucket && !bucket.take()) {
        const limit = options.rateLimit as RateLimit;
        return fail({
          type: 'error',
          data: { code: 'rate_limited', message: `more than ${limit.ratePerSecond} messages a second (bursts of ${limit.burst}): slow down`, retryable: true, ...(requestId ? { requestId } : {}) },
        });
      }
      if (E.isLeft(decoded)) {
        const problem = decoded.left;
        options.onProtocolError?.(session.id, problem);
        return fail({ type: 'error', data: { code: problem.code, message: problem.message, retryable: false, ...(requestId ? { requestId } : {}) } });
      }
      const message = decoded.right;
      switch (message.type) {
        case 'ping':
          if (message.data?.lastSeq !== undefined) session.acknowledge(message.data.lastSeq);
          return session.sendDirect({ type: 'pong', data: { requestId: message.id } });
        case 'resume':
          return resume(message);
        default:
          return session.handle(message);
      }
    } catch (error) {
      // A bug of ours must cost this one frame, not the process or the other sessions.
      session.send(errorMessageFor(error, { logger: options.logger }));
    }
  };

  return {
    get session() {
      return session;
    },
    receive,
    closed: () => {
      if (!session.detach(transport)) return;
      registry.detached(session);
    },
  };
}
