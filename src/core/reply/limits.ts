import { UpstreamError } from '../../errors';

/** Rounds of tool calls one reply may make unless configured. */
export const DEFAULT_MAX_TOOL_STEPS = 5;
/** Longest silence between two upstream events before the reply fails, in ms. */
export const DEFAULT_UPSTREAM_IDLE_TIMEOUT_MS = 60_000;
/** Most text one reply may have, over all its model calls, in UTF-8 bytes (4 MiB). */
export const DEFAULT_MAX_REPLY_TEXT_BYTES = 4 * 1024 * 1024;
/** Most arguments one tool call may have, in UTF-8 bytes (1 MiB). */
export const DEFAULT_MAX_TOOL_ARGUMENTS_BYTES = 1024 * 1024;

/** How large a reply may grow: past either, it ends with `reply_too_large`. */
export interface ReplyLimits {
  /** The reply's text (and the model's reasoning) over all its model calls, in UTF-8 bytes. */
  readonly maxTextBytes: number;
  /** One tool call's arguments, in UTF-8 bytes. */
  readonly maxToolArgumentsBytes: number;
}

const tooLarge = (what: string, limit: number): UpstreamError =>
  new UpstreamError(
    'reply_too_large',
    `the model's reply passed this server's limit: ${what} over ${limit} bytes; the reply was stopped`,
    {
      retryable: false,
    },
  );

/**
 * Counts what a model call streams against the reply's limits, and throws `reply_too_large` for
 * the event that would pass one, before anything accumulates it.
 */
export class LimitCheck {
  private textBytes = 0;
  private argumentBytes = new Map<number, number>();

  constructor(readonly limits: ReplyLimits) {}

  /** Counts a piece of text; throws `reply_too_large` past the text limit. */
  text(delta: string): void {
    this.textBytes += Buffer.byteLength(delta);
    if (this.textBytes > this.limits.maxTextBytes) throw tooLarge('the text', this.limits.maxTextBytes);
  }

  /** Counts a piece of tool call `index`'s arguments; throws `reply_too_large` past the limit. */
  toolArguments(index: number, delta: string): void {
    const bytes = (this.argumentBytes.get(index) ?? 0) + Buffer.byteLength(delta);
    this.argumentBytes.set(index, bytes);
    if (bytes > this.limits.maxToolArgumentsBytes)
      throw tooLarge(`the arguments of tool call ${index}`, this.limits.maxToolArgumentsBytes);
  }

  /** A new model call: tool call indexes start again (the text counts over the whole reply). */
  newRound(): void {
    this.argumentBytes = new Map();
  }
}
