import type * as t from 'io-ts';
import type { Observable } from 'rxjs';
import type { JSONSchema, LLMToolDefinition } from '../llm/types';

/** What a tool knows about the call it serves. */
export interface ToolContext {
  /** The session (conversation) the call belongs to. */
  readonly sessionId: string;
  /** The id of the `user_message` whose reply made the call. */
  readonly requestId: string;
  /** The model's id for this call. */
  readonly toolCallId: string;
  /** Aborted when the reply is aborted or the session ends: long-running tools should stop. */
  readonly signal: AbortSignal;
  /** Who the session belongs to, as the server's `authenticate` said (undefined without one). */
  readonly principal?: unknown;
  /**
   * The reply's trace, as the server's telemetry made it (an OpenTelemetry `Context` with
   * `llm-ws/otel`; undefined without telemetry): a tool making spans of its own may parent them on it.
   */
  readonly trace?: unknown;
}

/**
 * A tool the model may call.
 *
 * `parameters` is a JSON Schema for the arguments object, or an io-ts codec from which the
 * schema is derived. Arguments are validated against it before `execute` runs; bad arguments,
 * and anything `execute` throws or rejects with, become a tool error that the model sees.
 */
// `any` by default so a `Tool[]` holds tools of different argument types (`Tool<{ city: string }>`, ...).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export interface Tool<Args = any> {
  /** 1 to 64 letters, digits, `_` or `-`, as the OpenAI API requires. */
  readonly name: string;
  /** What the tool does, for the model. */
  readonly description: string;
  readonly parameters: JSONSchema | t.Type<Args, unknown>;
  /**
   * Whether a call waits for the user's yes or no before it runs (a tool that sends mail,
   * spends money or deletes data): `true`, or a function of the call's validated arguments
   * (a Promise of the answer is fine). The client is sent `tool_call` with status
   * `approval_required`; a denial, or no answer within the server's `approvalTimeoutMs`, tells
   * the model the user declined, and the tool does not run. A function that throws counts as
   * `true`: asking is the safe side.
   * @default false
   */
  readonly needsApproval?: boolean | ((args: Args, context: ToolContext) => boolean | Promise<boolean>);
  /**
   * Runs the tool. Returns the result (any JSON value), a Promise of it, or an Observable whose
   * last value is the result; unsubscribing that Observable cancels the call.
   */
  execute(args: Args, context: ToolContext): unknown;
}

/** A tool's result as the model will see it: a value, or an error message. */
export type ToolOutcome =
  { readonly ok: true; readonly result: unknown } | { readonly ok: false; readonly error: string };

/** Typed identity for declaring a tool: `defineTool({ name, parameters: codec, execute })` infers `Args`. */
export function defineTool<Args>(tool: Tool<Args>): Tool<Args> {
  return tool;
}

/** A call the model asked for: `arguments` is the raw JSON text the model wrote. */
export interface ToolCallRequest {
  readonly id: string;
  readonly name: string;
  readonly arguments: string;
}

/** The tools a server offers, validated and ready to run. */
export interface ToolRegistry {
  /** Names of all tools, in the order they were given. */
  readonly names: readonly string[];
  has(name: string): boolean;
  /** Definitions for the model: of the named tools, or of all when `names` is undefined. */
  definitions(names?: readonly string[]): LLMToolDefinition[];
  /**
   * Runs one call: parses and validates its arguments, then executes the tool. Never errors:
   * every failure becomes `{ ok: false, error }`. Unsubscribing aborts the tool's signal.
   */
  execute(call: ToolCallRequest, context: Omit<ToolContext, 'signal' | 'toolCallId'>): Observable<ToolOutcome>;
  /**
   * Whether the call must wait for the user's approval (see {@link Tool.needsApproval}): one
   * value, then completion. False for an unknown tool or arguments that do not validate (the
   * call fails without running, so there is nothing to approve); true when the tool's own
   * function throws. Unsubscribing aborts the signal the function sees.
   */
  needsApproval(call: ToolCallRequest, context: Omit<ToolContext, 'signal' | 'toolCallId'>): Observable<boolean>;
}
