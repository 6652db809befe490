import type { Observable } from 'rxjs';
import type { LLMProvider, LLMRequest, LLMToolDefinition } from '../../llm/types';
import type {
  HistoryAttachment,
  ClientToolDeclaration,
  ClientToolResultMessage,
  ToolApprovalMessage,
  UserMessageOptions,
} from '../../protocol/codecs';
import type { ToolRegistry } from '../../tools/types';
import type { Conversation } from '../conversation';
import type { Logger } from '../ports';
import type { UsageLimits } from '../usage-limits';
import type { LimitCheck, ReplyLimits } from './limits';
import type { ReplyState } from './reply-state';

/** Where a reply reports its timings, in seconds. */
export interface ReplyTimings {
  modelCall(seconds: number): void;
  firstToken(seconds: number): void;
}

/**
 * How a reply hears its client's answers: the `tool_approval` of a call waiting for approval,
 * the `tool_result` of a client tool. Subscribing registers the wait (an answer naming a call
 * nobody waits for is refused); unsubscribing ends it.
 */
export interface ReplyAnswers {
  approval(toolCallId: string): Observable<ToolApprovalMessage['data']>;
  result(toolCallId: string): Observable<ClientToolResultMessage['data']>;
}

/**
 * Checks the tools a `user_message` declares to run on the client against the server's tool
 * names: the definitions to offer the model beside the server's, or why the declaration is
 * refused (the reply ends with `invalid_client_tools`). The server's is the tools layer's
 * `checkClientTools` (each schema compiled with Ajv), given as an option so that the core never
 * loads a schema compiler.
 */
export type ClientToolsCheck = (
  declared: readonly ClientToolDeclaration[],
  serverToolNames: readonly string[],
) =>
  | { readonly ok: true; readonly definitions: readonly LLMToolDefinition[] }
  | { readonly ok: false; readonly error: string };

/** How long a reply waits for its client, and what it keeps of the model's reasoning. */
export interface HumanInTheLoopOptions {
  /** How long a call waits for approval before it counts as denied, in ms. */
  readonly approvalTimeoutMs: number;
  /** How long the server waits for a client tool's result, in ms. */
  readonly clientToolTimeoutMs: number;
  /** Largest client tool result taken, as JSON, in UTF-8 bytes. */
  readonly maxClientToolResultBytes: number;
  /** Whether the model's reasoning is kept in history, on the assistant message (never sent back to the model). */
  readonly keepReasoning: boolean;
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
  /** Tools the client runs, declared on the `user_message`: offered beside the server's. */
  readonly clientTools?: readonly ClientToolDeclaration[];
  /** Checks `clientTools`; without it, a message that declares any is refused with `invalid_client_tools`. */
  readonly checkClientTools?: ClientToolsCheck;
  /** Pictures and files of the user's message, as history keeps them (stored by reference). */
  readonly attachments?: readonly HistoryAttachment[];
  /** Reads a stored attachment's bytes back for the model call (see `LLMRequest.attachmentData`). */
  readonly attachmentData?: LLMRequest['attachmentData'];
  /** Where the client's answers come from; without it, nothing can wait for approval or run on the client. */
  readonly answers?: ReplyAnswers;
  /** @default DEFAULT_APPROVAL_TIMEOUT_MS, DEFAULT_CLIENT_TOOL_TIMEOUT_MS, DEFAULT_MAX_CLIENT_TOOL_RESULT_BYTES, no reasoning kept */
  readonly humanInTheLoop?: HumanInTheLoopOptions;
  /** The reply's trace handle (see `ReplyTrace.context`), passed to its model calls and tool runs. */
  readonly trace?: unknown;
  /** The principal's token budget and message rate: asked before the model calls, told what each spent. */
  readonly usageLimits?: UsageLimits;
  /** An edit: the user message of the active path this one replaces, as a new branch. */
  readonly editOf?: string;
  /** A regenerate: the last user message is answered again, as a new branch (`text` is not used). */
  readonly regenerate?: boolean;
}

/** What the rounds of one running reply share. */
export interface ReplyRun {
  readonly context: ReplyContext;
  readonly state: ReplyState;
  readonly limitCheck: LimitCheck;
  /** The tools offered to the model in every call of this reply: the server's, then the client's. */
  readonly definitions: readonly LLMToolDefinition[];
  /** Names of the client's tools among them. */
  readonly clientToolNames: ReadonlySet<string>;
  readonly humanInTheLoop: HumanInTheLoopOptions;
  /** When the reply started, from `performance.now()`. */
  readonly startedAt: number;
}

/** Seconds from `start` (a `performance.now()` reading) to now. */
export const secondsSince = (start: number): number => (performance.now() - start) / 1000;
