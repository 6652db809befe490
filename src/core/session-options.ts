/** What a session is made from: the options every session of a server shares, and its own identity and state. */
import type { AttachmentLimits, AttachmentStore } from './attachments';
import type { LLMProvider } from '../llm/types';
import type { ConcurrentMessages, ServerMessageInput } from '../protocol/codecs';
import type { ToolRegistry } from '../tools/types';
import type { ConversationOptions } from './conversation';
import type { BackpressureLimits } from './connection-writer';
import type { Logger, SessionPersistence } from './ports';
import type { ReplayLimits } from './replay-log';
import type { ClientToolsCheck, HumanInTheLoopOptions, ReplyLimits, ReplyTimings } from './reply';
import type { Telemetry } from './telemetry';
import type { UsageLimits } from './usage-limits';

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
  /** How large a reply may grow before it ends with `reply_too_large`. @default DEFAULT_MAX_REPLY_TEXT_BYTES and DEFAULT_MAX_TOOL_ARGUMENTS_BYTES */
  readonly replyLimits?: ReplyLimits;
  /** Longest `user_message` text accepted, in characters. */
  readonly maxMessageLength: number;
  /** How pictures and files of a `user_message` are checked and where their bytes go; without it, a message with any is refused. */
  readonly attachments?: { readonly limits: AttachmentLimits; readonly store: AttachmentStore };
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
  /** Where each reply's trace starts (the model and tools given are decorated by it already). */
  readonly telemetry?: Telemetry;
  /** Where a store keeps the session's state; none for a session of this process alone. */
  readonly persistence?: SessionPersistence;
  /** Checks the tools a message declares to run on the client; without it, a message that declares any is refused. */
  readonly checkClientTools?: ClientToolsCheck;
  /** How long replies wait for approvals and client tools, and whether reasoning is kept. @default the reply's defaults */
  readonly humanInTheLoop?: HumanInTheLoopOptions;
  /** What a `user_message` that arrives while a reply runs gets. @default DEFAULT_CONCURRENT_MESSAGES ('queue') */
  readonly concurrentMessages?: ConcurrentMessages;
  /** With `queue`: messages held behind the running reply; one more is refused `queue_full`. @default DEFAULT_MAX_QUEUED_MESSAGES */
  readonly maxQueuedMessages?: number;
  /** Per-principal token budget and message rate, checked and counted by each reply. @default none */
  readonly usageLimits?: UsageLimits;
}
