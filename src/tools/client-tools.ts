/**
 * Tools that run on the client (declared on a `user_message` as `clientTools`) and answers that
 * come back over the socket: approvals of tools that need one, and client tools' results. Pure
 * checks plus two waits, each one Observable the tool round subscribes to: unsubscribing (an
 * abort) ends the wait.
 */
import Ajv from 'ajv';
import { filter, map, type Observable, race, type SchedulerLike, take, timer } from 'rxjs';
import type { LLMToolDefinition } from '../llm/types';
import type { ClientToolDeclaration, ClientToolResultMessage, ToolApprovalMessage } from '../protocol/codecs';
import type { ToolOutcome } from './types';

/** How long a tool call waits for the user's approval before it counts as denied, unless configured, in ms. */
export const DEFAULT_APPROVAL_TIMEOUT_MS = 5 * 60_000;
/** How long the server waits for a client tool's result before the model is told it failed, unless configured, in ms. */
export const DEFAULT_CLIENT_TOOL_TIMEOUT_MS = 60_000;
export { DEFAULT_MAX_CLIENT_TOOL_RESULT_BYTES } from '../protocol/limits';

/** Compiles schemas only to see that they compile; a module-level instance caches nothing useful per session. */
let ajv: Ajv | undefined;

/**
 * Checks the client tools of a `user_message` (the codec has bounded their number and sizes):
 * no name may repeat or be one of the server's tools, and each schema must compile. Returns the
 * definitions to offer the model, or why the declaration is refused.
 */
export function checkClientTools(
  declared: readonly ClientToolDeclaration[],
  serverToolNames: readonly string[],
): { readonly ok: true; readonly definitions: LLMToolDefinition[] } | { readonly ok: false; readonly error: string } {
  const seen = new Set<string>();
  for (const tool of declared) {
    if (serverToolNames.includes(tool.name))
      return { ok: false, error: `client tool ${tool.name} has the name of one of this server's tools` };
    if (seen.has(tool.name)) return { ok: false, error: `two client tools are named ${tool.name}` };
    seen.add(tool.name);
    try {
      (ajv ??= new Ajv({ strict: false })).compile(tool.parameters);
    } catch (error) {
      return {
        ok: false,
        error: `the parameters of client tool ${tool.name} are not a valid JSON Schema: ${(error as Error).message}`,
      };
    }
  }
  return {
    ok: true,
    definitions: declared.map(({ name, description, parameters }) => ({ name, description, parameters })),
  };
}

/** The user's answer to one approval request. */
export interface ApprovalAnswer {
  readonly approved: boolean;
  /** Why it was declined: the user's reason, or that no answer came in time. */
  readonly reason?: string;
  /** No answer came within the timeout: the user did not decline, nobody answered. */
  readonly timedOut?: true;
}

/**
 * Waits for the answer to the approval of `toolCallId`: the first `tool_approval` naming it on
 * `approvals$`, or a denial once `timeoutMs` passed without one. One value, then completion.
 */
export function awaitApproval(
  approvals$: Observable<ToolApprovalMessage['data']>,
  toolCallId: string,
  timeoutMs: number,
  scheduler?: SchedulerLike,
): Observable<ApprovalAnswer> {
  return race(
    approvals$.pipe(
      filter((answer) => answer.toolCallId === toolCallId),
      take(1),
      map(({ approved, reason }): ApprovalAnswer =>
        reason === undefined || approved ? { approved } : { approved, reason },
      ),
    ),
    timer(timeoutMs, scheduler).pipe(
      map((): ApprovalAnswer => ({
        approved: false,
        reason: `no answer from the user within ${timeoutMs} ms`,
        timedOut: true,
      })),
    ),
  );
}

/**
 * What a client tool's `tool_result` means for the model: its result, unless it is larger than
 * `maxResultBytes` as JSON, or the error the client reported.
 */
export function clientToolOutcome(
  answer: ClientToolResultMessage['data'],
  toolName: string,
  maxResultBytes: number,
): ToolOutcome {
  if (answer.error !== undefined) return { ok: false, error: answer.error };
  const value = answer.result === undefined ? null : answer.result;
  const bytes = Buffer.byteLength(JSON.stringify(value));
  if (bytes > maxResultBytes)
    return {
      ok: false,
      error: `the result of ${toolName} has ${bytes} bytes; this server takes at most ${maxResultBytes}`,
    };
  return { ok: true, result: value };
}

/**
 * Waits for a client tool's result: the first `tool_result` naming `toolCallId` on `results$`,
 * checked by {@link clientToolOutcome}, or a failure once `timeoutMs` passed without one.
 */
export function awaitClientResult(
  results$: Observable<ClientToolResultMessage['data']>,
  call: { readonly id: string; readonly name: string },
  limits: { readonly timeoutMs: number; readonly maxResultBytes: number },
  scheduler?: SchedulerLike,
): Observable<ToolOutcome> {
  return race(
    results$.pipe(
      filter((answer) => answer.toolCallId === call.id),
      take(1),
      map((answer) => clientToolOutcome(answer, call.name, limits.maxResultBytes)),
    ),
    timer(limits.timeoutMs, scheduler).pipe(
      map((): ToolOutcome => ({
        ok: false,
        error: `the client did not run ${call.name} within ${limits.timeoutMs} ms`,
      })),
    ),
  );
}
