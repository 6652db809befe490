import type Ajv from 'ajv';
import * as E from 'fp-ts/Either';
import * as t from 'io-ts';
import { catchError, defer, from, isObservable, last, map, Observable, of, timeout } from 'rxjs';
import { ToolError } from '../errors';
import type { JSONSchema } from '../llm/types';
import { formatValidationErrors } from '../protocol/decode';
import { newAjv } from './ajv';
import { jsonSchemaOf } from './codec-schema';
import { parseToolArguments, prefixOf } from './tool-arguments';
import type { Tool, ToolOutcome, ToolRegistry } from './types';

/** How long one tool call may run before it fails with a timeout, in ms. */
export const DEFAULT_TOOL_TIMEOUT_MS = 30_000;

const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

/**
 * Longest error text a failed tool call reports, in characters: the model, the history and the
 * client get it, and a tool's error may quote its (model-written, possibly huge) arguments.
 */
export const MAX_TOOL_ERROR_LENGTH = 1000;

type Validator = (args: unknown) => E.Either<string, unknown>;

function makeValidator(tool: Tool, ajv: () => Ajv): { schema: JSONSchema; validate: Validator } {
  const { parameters } = tool;
  if (parameters instanceof t.Type) {
    const codec = parameters as t.Mixed;
    return {
      schema: jsonSchemaOf(codec),
      validate: (args) => E.mapLeft(formatValidationErrors)(codec.decode(args)),
    };
  }
  const check = ajv().compile(parameters);
  return {
    schema: parameters,
    validate: (args) =>
      check(args) ? E.right(args) : E.left(ajv().errorsText(check.errors, { dataVar: 'arguments' })),
  };
}

/** Normalises what `execute` returned (value, Promise or Observable) to the result's Observable. */
function resultOf(output: unknown): Observable<unknown> {
  if (isObservable(output)) return output.pipe(last(undefined, null));
  if (output instanceof Promise) return from(output);
  return of(output);
}

function describeFailure(error: unknown): string {
  const text = error instanceof Error ? error.message || error.name : String(error);
  return prefixOf(text, MAX_TOOL_ERROR_LENGTH);
}

/**
 * Checks a list of tools (unique valid names, compilable schemas) and returns a registry.
 * Throws a TypeError at once for a tool that could never be called.
 */
export function createToolRegistry(tools: readonly Tool[], options: { timeoutMs?: number } = {}): ToolRegistry {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TOOL_TIMEOUT_MS;
  // Made for the first tool with a JSON Schema: a server of io-ts tools (or none) never loads ajv.
  let made: Ajv | undefined;
  const ajv = (): Ajv => (made ??= newAjv({ allErrors: true, strict: false }));
  const entries = new Map<string, { tool: Tool; schema: JSONSchema; validate: Validator }>();
  for (const tool of tools) {
    if (!TOOL_NAME.test(tool.name)) {
      throw new TypeError(`tool name ${JSON.stringify(tool.name)} must be 1 to 64 letters, digits, _ or -`);
    }
    if (entries.has(tool.name)) throw new TypeError(`two tools are named ${tool.name}`);
    entries.set(tool.name, { tool, ...makeValidator(tool, ajv) });
  }

  const execute: ToolRegistry['execute'] = (call, context) =>
    defer(() => {
      const entry = entries.get(call.name);
      if (!entry) throw new ToolError('unknown_tool', `there is no tool named ${prefixOf(call.name, 80)}`);
      const args = E.chain(entry.validate)(parseToolArguments(call.arguments));
      if (E.isLeft(args)) throw new ToolError('invalid_arguments', `invalid arguments for ${call.name}: ${args.left}`);
      return new Observable<unknown>((subscriber) => {
        const controller = new AbortController();
        const subscription = defer(() =>
          resultOf(entry.tool.execute(args.right, { ...context, toolCallId: call.id, signal: controller.signal })),
        ).subscribe(subscriber);
        return () => {
          subscription.unsubscribe();
          controller.abort();
        };
      }).pipe(
        timeout({
          first: timeoutMs,
          with: () => {
            throw new ToolError('tool_error', `${call.name} did not finish within ${timeoutMs} ms`);
          },
        }),
      );
    }).pipe(
      map((result): ToolOutcome => {
        const value = result === undefined ? null : result;
        // The result travels to the model and the client as JSON: find out now if it cannot.
        if (JSON.stringify(value) === undefined)
          throw new ToolError('tool_error', `${call.name} returned a value that is not JSON`);
        return { ok: true, result: value };
      }),
      catchError((error: unknown) => of<ToolOutcome>({ ok: false, error: describeFailure(error) })),
    );

  const needsApproval: ToolRegistry['needsApproval'] = (call, context) =>
    defer(() => {
      const entry = entries.get(call.name);
      const rule = entry?.tool.needsApproval;
      if (!entry || rule === undefined || typeof rule === 'boolean') return of(rule === true);
      const args = E.chain(entry.validate)(parseToolArguments(call.arguments));
      if (E.isLeft(args)) return of(false);
      return new Observable<boolean>((subscriber) => {
        const controller = new AbortController();
        const subscription = defer(() =>
          resultOf(rule(args.right, { ...context, toolCallId: call.id, signal: controller.signal })),
        )
          .pipe(
            map((answer) => answer !== false),
            catchError(() => of(true)),
          )
          .subscribe(subscriber);
        return () => {
          subscription.unsubscribe();
          controller.abort();
        };
      });
    });

  return {
    names: [...entries.keys()],
    needsApproval,
    has: (name) => entries.has(name),
    definitions: (names) =>
      [...entries.values()]
        .filter(({ tool }) => names === undefined || names.includes(tool.name))
        .map(({ tool, schema }) => ({ name: tool.name, description: tool.description, parameters: schema })),
    execute,
  };
}
