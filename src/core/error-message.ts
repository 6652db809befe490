/**
 * The connection's catch-all: what a client is told when its request failed, whatever threw.
 * Known failures (the model's, the request's) keep their code; anything else is a bug of ours,
 * logged with its stack and answered with `internal_error`.
 */
import { LLMWSError, RequestError, UpstreamError } from '../errors';
import type { ServerMessageInput } from '../protocol/codecs';
import type { Logger } from './ports';

/** The `error` message that tells the client why its request failed. */
export function errorMessageFor(error: unknown, context: { requestId?: string; logger: Logger }): ServerMessageInput {
  const requestId = context.requestId === undefined ? {} : { requestId: context.requestId };
  if (error instanceof UpstreamError && error.code === 'reply_too_large') {
    // A limit doing its job: worth a line for the operator, not a stack trace.
    context.logger.warn({ ...requestId, code: error.code, reason: error.message }, 'model reply stopped at a limit');
  } else if (error instanceof UpstreamError) {
    // The one log line of a failed model call: the client is told, the operator should be too.
    context.logger.warn({ err: error, ...requestId, code: error.code, status: error.status }, 'model request failed');
  }
  if (error instanceof UpstreamError || error instanceof RequestError) {
    const retryAfter = error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs };
    return {
      type: 'error',
      data: { code: error.code, message: error.message, retryable: error.retryable, ...retryAfter, ...requestId },
    };
  }
  context.logger.error({ err: error, ...requestId }, 'request failed inside the server');
  const detail = error instanceof LLMWSError ? ` (${error.code})` : '';
  return {
    type: 'error',
    data: { code: 'internal_error', message: `the server failed to answer${detail}`, retryable: true, ...requestId },
  };
}
