import type { Observable } from 'rxjs';
import type { HistoryMessage, Usage } from '../protocol/codecs';

/** A JSON Schema object, as the OpenAI API takes for tool parameters. */
export type JSONSchema = { [key: string]: unknown };

/** A tool as the model sees it. */
export interface LLMToolDefinition {
  readonly name: string;
  readonly description: string;
  readonly parameters: JSONSchema;
}

/** One call to the model. */
export interface LLMRequest {
  /** The conversation, system prompt first. */
  readonly messages: readonly HistoryMessage[];
  /** Tools the model may call; empty for none. */
  readonly tools: readonly LLMToolDefinition[];
  readonly options: {
    readonly temperature?: number;
    readonly maxTokens?: number;
    /** `none` forbids tool calls (the last round of a tool loop). */
    readonly toolChoice?: 'auto' | 'none';
  };
  /**
   * Backpressure from the client: when it returns a promise, the provider should not read more
   * of the model's stream until it settles (the HTTP response then waits in the network).
   */
  readonly whenWritable?: () => Promise<void> | undefined;
  /**
   * The most the caller accepts, in UTF-8 bytes: the reply's text, and each tool call's
   * arguments. The caller enforces them on the events; a provider may also stop reading early
   * (one upstream event far larger than these allow), so its memory stays bounded too.
   */
  readonly limits?: { readonly maxTextBytes: number; readonly maxToolArgumentsBytes: number };
  /**
   * Reads back the bytes (base64) of an attachment that `messages` name by `ref` (a user message's
   * `attachments`): a provider sends them to the model as content parts. Undefined when the bytes
   * are gone (the provider then tells the model so in text).
   */
  readonly attachmentData?: (ref: string) => Promise<{ mediaType: string; data: string } | undefined>;
  /** Whose call this is: set by the server for every call of a reply, for decorators (telemetry, budgets). */
  readonly call?: LLMCallContext;
}

/** Whose model call this is, as the server knows it. */
export interface LLMCallContext {
  /** The session (conversation) id. */
  readonly conversationId: string;
  /** The `user_message` id of the reply. */
  readonly requestId: string;
  /** Who the session belongs to, as the server's `authenticate` said. */
  readonly principal?: unknown;
  /**
   * The reply's trace as the server's telemetry made it (an OpenTelemetry `Context` with
   * `llm-ws/otel`): the parent of the call's span. Opaque to everything else.
   */
  readonly trace?: unknown;
}

/** What a provider says about itself, for telemetry (`gen_ai.provider.name`, `server.address`...). */
export interface LLMProviderInfo {
  /** The API spoken, as the GenAI conventions name it (`openai` for any OpenAI-compatible endpoint). */
  readonly providerName: string;
  /** The model requested. */
  readonly model: string;
  /** The endpoint's host, when it is remote. */
  readonly serverAddress?: string;
  /** The endpoint's port. */
  readonly serverPort?: number;
}

/** Why one model call ended. */
export type LLMFinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter';

/** What a provider streams. Tool calls arrive as fragments keyed by `index`, as in the OpenAI API. */
export type LLMEvent =
  | { readonly type: 'text'; readonly delta: string }
  /** A piece of the model's reasoning (`reasoning_content` or `reasoning` beside `content`); not part of the text. */
  | { readonly type: 'reasoning'; readonly delta: string }
  | {
      readonly type: 'tool_call_delta';
      readonly index: number;
      readonly id?: string;
      readonly name?: string;
      readonly argumentsDelta?: string;
    }
  | { readonly type: 'finish'; readonly reason: LLMFinishReason }
  /** Which completion and model answered (`id` and `model` of the stream), once per call, when the endpoint says. */
  | { readonly type: 'response'; readonly id?: string; readonly model?: string }
  | { readonly type: 'usage'; readonly usage: Usage };

/**
 * A model: a function from a request to a cold Observable of events. Subscribing makes the
 * request; unsubscribing cancels it, down to the HTTP connection. Failures are
 * {@link UpstreamError}s.
 */
export type LLMProvider = ((request: LLMRequest) => Observable<LLMEvent>) & {
  /** What the provider says about itself, for telemetry; optional. */
  readonly info?: LLMProviderInfo;
};
