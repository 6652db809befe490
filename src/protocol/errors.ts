/**
 * The base error class and the protocol's own error: the protocol's decoders raise
 * {@link ProtocolError}, so both live with the protocol, which imports nothing of the rest of
 * llm-ws. `src/errors.ts` re-exports them beside the other error classes. Pure: safe in browsers.
 */
import type { ErrorCode } from './codes';

/** Base class of every error llm-ws raises. `code` is stable; `message` is for people. */
export class LLMWSError extends Error {
  /** A stable code to switch on. */
  readonly code: string;
  /** Whether sending the same request again may succeed. */
  readonly retryable: boolean;

  constructor(code: string, message: string, options: { retryable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options.retryable ?? false;
  }
}

/** A frame from the peer that is not a valid protocol message. */
export class ProtocolError extends LLMWSError {
  declare readonly code: ErrorCode;
  /** The offending message's `id`, when the frame had a readable one. */
  readonly requestId: string | undefined;

  constructor(code: ErrorCode, message: string, requestId?: string) {
    super(code, message);
    this.requestId = requestId;
  }
}
