/**
 * Error classes with stable string codes. Pure: safe in browsers.
 *
 * Codes that travel in `error` messages are the protocol's {@link ErrorCode}s; the others
 * (`tool_error`, `invalid_arguments`) stay inside the server and reach the model as a tool result.
 */
import type { ErrorCode } from './protocol/codes';
import { LLMWSError } from './protocol/errors';

export { LLMWSError, ProtocolError } from './protocol/errors';

/** Codes an {@link UpstreamError} can carry. */
export type UpstreamErrorCode = Extract<
  ErrorCode,
  'upstream_error' | 'upstream_timeout' | 'rate_limited' | 'reply_too_large'
>;

/** The model endpoint failed: an HTTP error, a cut stream, a timeout. */
export class UpstreamError extends LLMWSError {
  declare readonly code: UpstreamErrorCode;
  /** The HTTP status the endpoint answered with, when there was one. */
  readonly status: number | undefined;
  /** How long the endpoint asked to wait before a retry (its `Retry-After`), in ms, when it said. */
  readonly retryAfterMs: number | undefined;

  constructor(
    code: UpstreamErrorCode,
    message: string,
    options: { retryable: boolean; status?: number; retryAfterMs?: number; cause?: unknown },
  ) {
    super(code, message, options);
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** Codes a {@link ToolError} can carry. */
export type ToolErrorCode = 'unknown_tool' | 'invalid_arguments' | 'tool_error';

/** A tool call failed. The model is told, the reply goes on. */
export class ToolError extends LLMWSError {
  declare readonly code: ToolErrorCode;

  constructor(code: ToolErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, options);
  }
}

/** A user_message asked for something the server refuses before calling the model. */
export class RequestError extends LLMWSError {
  declare readonly code: ErrorCode;
  /** How long to wait before the same request can succeed, in ms, when the server knows (`quota_exceeded`). */
  readonly retryAfterMs: number | undefined;

  constructor(code: ErrorCode, message: string, options: { retryable?: boolean; retryAfterMs?: number } = {}) {
    super(code, message, options);
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** Why a client's connection, or a request riding on it, ended. */
export type ConnectionErrorCode =
  /** The connection dropped while the request was in flight. */
  | 'connection_lost'
  /** `disconnect()` was called. */
  | 'disconnected'
  /** Every reconnect attempt failed. */
  | 'reconnect_failed'
  /** The server did not greet the client within `timeout`. */
  | 'connect_timeout'
  /** The server went silent for `heartbeatInterval + timeout`. */
  | 'heartbeat_timeout'
  /** The server refused the connection for good (a close code a retry cannot fix). */
  | 'connection_refused';

/** The client's connection ended, or a request could not survive that. */
export class ConnectionClosedError extends LLMWSError {
  declare readonly code: ConnectionErrorCode;
  /** The WebSocket close code, when the socket closed with one. */
  readonly closeCode: number | undefined;

  constructor(
    code: ConnectionErrorCode,
    message: string,
    options: { closeCode?: number; retryable?: boolean; cause?: unknown } = {},
  ) {
    super(code, message, { retryable: options.retryable ?? code !== 'connection_refused', cause: options.cause });
    this.closeCode = options.closeCode;
  }
}

/** Codes a {@link ClientError} can carry. */
export type ClientErrorCode =
  /** `maxQueueSize` messages already wait for the connection. */
  | 'queue_full'
  /** A control got no answer within `timeout`, or a reply did not end within its `timeoutMs`. */
  | 'request_timeout'
  /** No connection to send on: before `connect()`, after `disconnect()` or giving up, or none came within `queueTimeoutMs`. */
  | 'not_connected'
  /**
   * The server closed the connection with 1009: the request's frame, the largest sent on it, was
   * over the server's `maxPayload`. It is not sent again (it would be refused again).
   */
  | 'message_too_large';

/** The client refused or gave up on a request on its own side. */
export class ClientError extends LLMWSError {
  declare readonly code: ClientErrorCode;

  constructor(code: ClientErrorCode, message: string) {
    super(code, message, { retryable: true });
  }
}

/** The server answered a request with an `error` message. */
export class ServerError extends LLMWSError {
  declare readonly code: ErrorCode;
  /** The id of the client message that failed. */
  readonly requestId: string | undefined;
  /**
   * How long the server asked to wait before trying again, in ms, when it said (`rate_limited`
   * carries it). {@link retryWithBackoff} waits at least this long.
   */
  readonly retryAfterMs: number | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: { retryable: boolean; requestId?: string; retryAfterMs?: number },
  ) {
    super(code, message, { retryable: options.retryable });
    this.requestId = options.requestId;
    this.retryAfterMs = options.retryAfterMs;
  }
}
