/**
 * Tools that run on the client (declared on a `user_message` as `clientTools`) and answers that
 * come back over the socket: approvals of tools that need one, and client tools' results. Pure
 * checks plus two waits, each one Observable the tool round subscribes to: unsubscribing (an
 * abort) ends the wait.
 */
import Ajv, { type ValidateFunction } from 'ajv';
import { createHash } from 'node:crypto';
import { filter, map, type Observable, race, type SchedulerLike, take, timer } from 'rxjs';
import type { LLMToolDefinition } from '../llm/types';
import type { ClientToolDeclaration, ClientToolResultMessage, ToolApprovalMessage } from '../protocol/codecs';
import type { ToolOutcome } from './types';

/** How long a tool call waits for the user's approval before it counts as denied, unless configured, in ms. */
export const DEFAULT_APPROVAL_TIMEOUT_MS = 5 * 60_000;
/** How long the server waits for a client tool's result before the model is told it failed, unless configured, in ms. */
export const DEFAULT_CLIENT_TOOL_TIMEOUT_MS = 60_000;
export { DEFAULT_MAX_CLIENT_TOOL_RESULT_BYTES } from '../protocol/limits';

/**
 * Most UTF-8 bytes of JSON all `parameters` schemas of one declaration may hold together (32 KiB):
 * compiling costs about linearly in it (32 KiB of new schemas: about 25 ms of CPU), so one frame
 * never holds the event loop for long. Schemas compiled before cost a hash only.
 */
export const MAX_CLIENT_TOOLS_SCHEMA_BYTES = 32 * 1024;
/** Deepest nesting of objects and arrays in one `parameters` schema: compile time grows with depth squared. */
export const MAX_CLIENT_TOOL_SCHEMA_DEPTH = 32;
/** Distinct schemas whose compiled validators this process keeps (least recently used go first). */
export const CLIENT_TOOL_SCHEMA_CACHE_SIZE = 256;

/** A schema's compiled validator, or why it does not compile. */
type Compiled = { readonly validate: ValidateFunction } | { readonly error: string };

/**
 * Validators by the SHA-256 of their schema's JSON text, least recently used first. WSClient
 * declares the same tools with every message: each distinct schema compiles once, and the cache
 * stays bounded however many schemas clients send.
 */
const compiledSchemas = new Map<string, Compiled>();

/** Checks schemas against the JSON Schema meta-schema only: it compiles and registers nothing of a client's. */
let metaChecker: Ajv | undefined;

/** Depth of nested objects and arrays in `value`, walked without recursion; stops once past `limit`. */
function depthOf(value: unknown, limit: number): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop() as [unknown, number];
    if (node === null || typeof node !== 'object') continue;
    deepest = Math.max(deepest, depth);
    if (deepest > limit) return deepest;
    for (const child of Object.values(node))
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
  }
  return deepest;
}

/**
 * Compiles one schema in an Ajv instance of its own: the `$id`s, `$ref`s and anchors of one
 * client's schema can never meet another's (a shared instance keeps every `$id` it saw, so the
 * same declaration from a later session would be refused as "already exists").
 */
function compile(schema: Record<string, unknown>): Compiled {
  try {
    const checker = (metaChecker ??= new Ajv({ strict: false, addUsedSchema: false }));
    if (!checker.validateSchema(schema)) return { error: checker.errorsText(checker.errors) };
    const own = new Ajv({
      strict: false,
      meta: false,
      validateSchema: false,
      addUsedSchema: false,
      // The validators are for correctness, not speed: unoptimised code compiles faster.
      code: { optimize: false },
    });
    return { validate: own.compile(schema) };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

/** The compiled validator of `schema` (JSON text `json`), from the cache or compiled now. */
function compiledFor(schema: Record<string, unknown>, json: string): Compiled {
  const key = createHash('sha256').update(json).digest('base64');
  const cached = compiledSchemas.get(key);
  if (cached) {
    // Most recently used goes last.
    compiledSchemas.delete(key);
    compiledSchemas.set(key, cached);
    return cached;
  }
  const compiled = compile(schema);
  compiledSchemas.set(key, compiled);
  if (compiledSchemas.size > CLIENT_TOOL_SCHEMA_CACHE_SIZE) {
    compiledSchemas.delete(compiledSchemas.keys().next().value as string);
  }
  return compiled;
}

/** A declaration refused, and why. */
export interface ClientToolsRefusal {
  readonly ok: false;
  readonly error: string;
}

/**
 * Checks the client tools of a `user_message` (the codec has bounded their number and each
 * schema's size): no name may repeat or be one of the server's tools, the schemas together hold
 * at most {@link MAX_CLIENT_TOOLS_SCHEMA_BYTES}, none nests deeper than
 * {@link MAX_CLIENT_TOOL_SCHEMA_DEPTH}, and each must compile. Returns the definitions to offer
 * the model, or why the declaration is refused (the reply ends with `invalid_client_tools`).
 */
export function checkClientTools(
  declared: readonly ClientToolDeclaration[],
  serverToolNames: readonly string[],
): { readonly ok: true; readonly definitions: LLMToolDefinition[] } | ClientToolsRefusal {
  const seen = new Set<string>();
  const texts: string[] = [];
  let totalBytes = 0;
  for (const tool of declared) {
    if (serverToolNames.includes(tool.name))
      return { ok: false, error: `client tool ${tool.name} has the name of one of this server's tools` };
    if (seen.has(tool.name)) return { ok: false, error: `two client tools are named ${tool.name}` };
    seen.add(tool.name);
    const json = JSON.stringify(tool.parameters);
    totalBytes += Buffer.byteLength(json);
    texts.push(json);
  }
  if (totalBytes > MAX_CLIENT_TOOLS_SCHEMA_BYTES)
    return {
      ok: false,
      error: `the parameters schemas of the client tools have ${totalBytes} bytes together; this server takes at most ${MAX_CLIENT_TOOLS_SCHEMA_BYTES}`,
    };
  for (const [i, tool] of declared.entries()) {
    if (depthOf(tool.parameters, MAX_CLIENT_TOOL_SCHEMA_DEPTH) > MAX_CLIENT_TOOL_SCHEMA_DEPTH)
      return {
        ok: false,
        error: `the parameters of client tool ${tool.name} nest deeper than ${MAX_CLIENT_TOOL_SCHEMA_DEPTH} levels`,
      };
    const compiled = compiledFor(tool.parameters, texts[i] as string);
    if ('error' in compiled)
      return {
        ok: false,
        error: `the parameters of client tool ${tool.name} are not a valid JSON Schema: ${compiled.error}`,
      };
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
