/**
 * Answers that come back over the socket for a reply's tool calls: approvals of tools that need
 * one, and client tools' results. Two waits, each one Observable the tool round subscribes to
 * (unsubscribing, an abort, ends the wait), and the pure check of a result.
 */
import { filter, map, type Observable, race, type SchedulerLike, take, timer } from 'rxjs';
import type { ClientToolResultMessage, ToolApprovalMessage } from '../protocol/codecs';
import { depthOf } from './json-depth';
import type { ToolOutcome } from './types';

/** How long a tool call waits for the user's approval before it counts as denied, unless configured, in ms. */
export const DEFAULT_APPROVAL_TIMEOUT_MS = 5 * 60_000;
/** How long the server waits for a client tool's result before the model is told it failed, unless configured, in ms. */
export const DEFAULT_CLIENT_TOOL_TIMEOUT_MS = 60_000;
export { DEFAULT_MAX_CLIENT_TOOL_RESULT_BYTES } from '../protocol/limits';

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
 * Deepest nesting of objects and arrays a client tool's result may have: the result goes to the
 * model, into history and to every tab as JSON, and JSON.stringify overflows the stack long before
 * JSON.parse does (a frame of 10,000 nested arrays parses).
 */
export const MAX_CLIENT_TOOL_RESULT_DEPTH = 64;

/**
 * What a client tool's `tool_result` means for the model: its result, unless it nests deeper than
 * {@link MAX_CLIENT_TOOL_RESULT_DEPTH} or is larger than `maxResultBytes` as JSON (then a tool
 * error the model sees), or the error the client reported.
 */
export function clientToolOutcome(
  answer: ClientToolResultMessage['data'],
  toolName: string,
  maxResultBytes: number,
): ToolOutcome {
  if (answer.error !== undefined) return { ok: false, error: answer.error };
  const value = answer.result === undefined ? null : answer.result;
  if (depthOf(value, MAX_CLIENT_TOOL_RESULT_DEPTH) > MAX_CLIENT_TOOL_RESULT_DEPTH)
    return {
      ok: false,
      error: `the result of ${toolName} nests deeper than ${MAX_CLIENT_TOOL_RESULT_DEPTH} levels; this server takes at most ${MAX_CLIENT_TOOL_RESULT_DEPTH}`,
    };
  let json: string;
  try {
    json = JSON.stringify(value);
  } catch (error) {
    return { ok: false, error: `the result of ${toolName} is not JSON: ${(error as Error).message}` };
  }
  const bytes = Buffer.byteLength(json);
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
