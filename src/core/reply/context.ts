import type { Observable } from 'rxjs';
import type { LLMProvider, LLMToolDefinition } from '../../llm/types';
import type { UserMessageOptions } from '../../protocol/codecs';
import type { ToolRegistry } from '../../tools/registry';
import type { Conversation } from '../conversation';
import type { Logger } from '../ports';
import type { LimitCheck, ReplyLimits } from './limits';
import type { ReplyState } from './reply-state';

/** Where a reply reports its timings, in seconds. */
export interface ReplyTimings {
  modelCall(seconds: number): void;
  firstToken(seconds: number): void;
}

/** Everything one reply needs. */
export interface ReplyContext {
  /** The `user_message` id: every message of the reply carries it as `requestId`. */
  readonly requestId: string;
  readonly sessionId: string;
  /** Who the session belongs to; tools see it. */
  readonly principal?: unknown;
  readonly text: string;
  readonly options: UserMessageOptions;
  readonly conversation: Conversation;
  readonly provider: LLMProvider;
  readonly tools: ToolRegistry;
  readonly maxToolSteps: number;
  readonly idleTimeoutMs: number;
  /** How large the reply may grow. @default DEFAULT_MAX_REPLY_TEXT_BYTES and DEFAULT_MAX_TOOL_ARGUMENTS_BYTES */
  readonly limits?: ReplyLimits;
  /** Emits to abort: the reply then ends with `llm_complete` and finishReason `aborted`. */
  readonly abort$: Observable<unknown>;
  /** Backpressure from the connection, handed to the provider (see `LLMRequest.whenWritable`). */
  readonly whenWritable?: () => Promise<void> | undefined;
  /** Told how long model calls take and when the first text arrives (for metrics). */
  readonly timings?: ReplyTimings;
  readonly logger: Logger;
}

/** What the rounds of one running reply share. */
export interface ReplyRun {
  readonly context: ReplyContext;
  readonly state: ReplyState;
  readonly limitCheck: LimitCheck;
  /** The tools offered to the model in every call of this reply. */
  readonly definitions: readonly LLMToolDefinition[];
  /** When the reply started, from `performance.now()`. */
  readonly startedAt: number;
}

/** Seconds from `start` (a `performance.now()` reading) to now. */
export const secondsSince = (start: number): number => (performance.now() - start) / 1000;
