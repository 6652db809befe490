/**
 * The telemetry port: how the server hands its replies, model calls and tool runs to a tracer
 * (`otelTelemetry()` from `llm-ws/otel`, or one of yours). The core knows nothing of
 * OpenTelemetry: the handle a reply's trace carries is opaque here, and reaches the model calls
 * (`LLMRequest.call.trace`) and tool runs (`ToolContext.trace`) that the decorators read it from.
 */
import type { LLMProvider } from '../llm/types';
import type { CompleteMessage } from '../protocol/codecs';
import type { ResumeOutcome } from './connection';
import type { ToolRegistry } from '../tools/types';

/** A reply starting, as its span should say. */
export interface ReplyStart {
  readonly sessionId: string;
  /** The `user_message` id. */
  readonly requestId: string;
  readonly principal?: unknown;
  /** The user's text (recorded only where content capture is on). */
  readonly text: string;
  /** The W3C `traceparent` the client sent with its `user_message`: the reply joins that trace. */
  readonly traceparent?: string;
  /** The W3C `tracestate` sent with it. */
  readonly tracestate?: string;
}

/** How a reply ended. */
export type ReplyEnding =
  | { readonly type: 'complete'; readonly data: CompleteMessage['data'] }
  | { readonly type: 'error'; readonly code: string; readonly message: string }
  /** Stopped from outside (the session ended, or sending failed) before its last frame. */
  | { readonly type: 'stopped' };

/** One reply's trace. */
export interface ReplyTrace {
  /** The parent of the reply's model calls and tool runs, handed to them opaquely. */
  readonly context: unknown;
  /** The reply ended; called once. */
  end(ending: ReplyEnding): void;
  /**
   * A tool call of the reply started (`1`) or stopped (`-1`) waiting for the client: for the
   * user's approval (`tool_approval`) or for a client tool's result (`tool_result`).
   */
  waiting?(answer: 'tool_approval' | 'tool_result', delta: 1 | -1): void;
}

/**
 * What the server calls for telemetry: once at start to decorate its model and its tools, and
 * once per reply. The decorators see every model call and tool run; a reply's frames are not
 * shown to it (nothing per chunk), only how the reply ended.
 */
export interface Telemetry {
  /** The server's model, decorated (a span and metrics per call). */
  provider(provider: LLMProvider): LLMProvider;
  /** The server's tools, decorated (a span per run). */
  tools(registry: ToolRegistry): ToolRegistry;
  /** A reply starts: its trace, ended when the reply ends. */
  startReply(start: ReplyStart): ReplyTrace;
  /**
   * A `resume` was answered: `resumed` (with how many messages it replayed: how far behind the
   * client was), `session_lost` or `resume_gap`.
   */
  resumed?(outcome: ResumeOutcome, replayedMessages: number | undefined): void;
}
