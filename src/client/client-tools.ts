import { LLMWSError } from '../errors';
import { MAX_CLIENT_TOOL_RESULT_ERROR_LENGTH, MAX_CLIENT_TOOLS } from '../protocol/limits';
import type { ClientTool, ClientToolContext } from './options';

/** What a client tool came to: its result, or why it failed. */
export type ClientToolOutcome = { readonly result: unknown } | { readonly error: string };

const errorText = (error: unknown): string =>
  (error instanceof Error ? error.message || error.name : String(error)).slice(0, MAX_CLIENT_TOOL_RESULT_ERROR_LENGTH);

/**
 * Runs a client tool and reports its outcome once: what `execute` returned (at once), resolved
 * to, or last emitted (on the Observable's own schedule; `null` for nothing), or what it threw,
 * rejected or errored with. Returns how to
 * stop it (an Observable is unsubscribed; a Promise runs on, its outcome unreported). Written
 * without rxjs operators, to keep a browser bundle small.
 */
export function runClientTool(
  tool: ClientTool,
  args: unknown,
  context: ClientToolContext,
  report: (outcome: ClientToolOutcome) => void,
): () => void {
  let stopped = false;
  const settle = (outcome: ClientToolOutcome): void => {
    if (stopped) return;
    stopped = true;
    // A result that is not JSON would fail to encode: it is the tool's failure, not the socket's.
    if ('result' in outcome) {
      try {
        JSON.stringify(outcome.result);
      } catch (error) {
        return report({ error: `${tool.name} returned a value that is not JSON: ${errorText(error)}` });
      }
    }
    report(outcome);
  };
  const fail = (error: unknown): void => settle({ error: errorText(error) });
  try {
    const output = tool.execute(args, context) as { subscribe?: unknown } | undefined;
    if (typeof output?.subscribe === 'function') {
      let last: unknown = null;
      const subscription = (output as unknown as { subscribe(observer: object): { unsubscribe(): void } }).subscribe({
        next: (value: unknown) => (last = value === undefined ? null : value),
        error: fail,
        complete: () => settle({ result: last }),
      });
      return () => {
        stopped = true;
        subscription.unsubscribe();
      };
    }
    const done = (value: unknown): void => settle({ result: value === undefined ? null : value });
    // A plain value goes out now, not a microtask later: in virtual time (TestScheduler) it is sent at the frame of the call.
    if (typeof (output as { then?: unknown } | undefined)?.then === 'function')
      Promise.resolve(output).then(done, fail);
    else done(output);
  } catch (error) {
    fail(error);
  }
  return () => (stopped = true);
}

/**
 * Checks the client tools as the server will (a bad one would fail every message with
 * `invalid_message` or `invalid_client_tools`), naming the tool at fault.
 */
export function checkTools(tools: readonly unknown[]): void {
  const fail = (problem: string): never => {
    throw new LLMWSError('invalid_options', `WSClient: option \`tools\`: ${problem}`);
  };
  if (tools.length > MAX_CLIENT_TOOLS) fail(`at most ${MAX_CLIENT_TOOLS} tools, got ${tools.length}`);
  const names = new Set<string>();
  tools.forEach((tool, i) => {
    const { name, execute } = (tool ?? {}) as { name?: unknown; execute?: unknown };
    if (typeof name !== 'string' || !/^[\w-]{1,64}$/.test(name)) {
      fail(
        `tools[${i}].name must be 1 to 64 letters, digits, _ or -, got ${typeof name === 'string' ? JSON.stringify(name) : String(name)}`,
      );
    }
    const named = name as string;
    if (typeof execute !== 'function') fail(`tool ${JSON.stringify(named)} has no execute function`);
    if (names.has(named)) fail(`two tools are named ${JSON.stringify(named)}`);
    names.add(named);
  });
}
