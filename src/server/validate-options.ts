/**
 * The run-time check of {@link WSServerOptions}: TypeScript catches a wrong type at compile
 * time, but JavaScript callers, config files and `as any` do not, and a wrong value found later
 * fails far from its cause (`port: 'abc'` listens on a pipe named `abc`). One table says what
 * each option takes; the constructor refuses anything else with `invalid_options`, naming the
 * option and what it expects.
 */
import { LLMWSError } from '../errors';
import type { WSServerOptions } from './options';

/** What a value must be, or the words saying so when it is not. */
type Check = (value: unknown) => string | undefined;

/** Node's timers take at most this many ms (a longer one fires after 1 ms, with a warning). */
const MAX_TIMER_MS = 2 ** 31 - 1;

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;
const hasMethods = (value: unknown, names: readonly string[]): boolean =>
  isObject(value) && names.every((name) => typeof value[name] === 'function');

const integer =
  (min: number, max = Number.MAX_SAFE_INTEGER): Check =>
  (value) =>
    typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max
      ? undefined
      : max === Number.MAX_SAFE_INTEGER
        ? `a whole number of ${min} or more`
        : `a whole number from ${min} to ${max}`;
const durationMs =
  (min: number): Check =>
  (value) =>
    typeof value === 'number' && Number.isFinite(value) && value >= min && value <= MAX_TIMER_MS
      ? undefined
      : `a number of milliseconds ${min === 0 ? 'from 0' : 'above 0'} to ${MAX_TIMER_MS}`;
const boolean: Check = (value) => (typeof value === 'boolean' ? undefined : 'true or false');
const string: Check = (value) => (typeof value === 'string' && value !== '' ? undefined : 'a non-empty string');
/** `enableCompression`: a boolean, or settings with whole numbers in zlib's ranges. */
const compression: Check = (value) => {
  if (typeof value === 'boolean') return undefined;
  if (typeof value !== 'object' || value === null)
    return 'true, false or { thresholdBytes, contextTakeover, level, memLevel }';
  const settings = value as Record<string, unknown>;
  const ranges: Record<string, Check> = { thresholdBytes: integer(0), level: integer(1, 9), memLevel: integer(1, 9) };
  for (const [name, setting] of Object.entries(settings)) {
    if (setting === undefined) continue;
    const check = name === 'contextTakeover' ? boolean : ranges[name];
    if (!check) return `settings of thresholdBytes, contextTakeover, level, memLevel (not ${name})`;
    const problem = check(setting);
    if (problem) return `${name} ${problem}`;
  }
  return undefined;
};

const fn: Check = (value) => (typeof value === 'function' ? undefined : 'a function');
const oneOf =
  (...allowed: readonly string[]): Check =>
  (value) =>
    allowed.includes(value as string) ? undefined : allowed.map((each) => `'${each}'`).join(' or ');
const withMethods =
  (what: string, names: readonly string[]): Check =>
  (value) =>
    hasMethods(value, names) ? undefined : what;
const positiveCount = integer(1);

const rateLimit: Check = (value) => {
  if (value === false) return undefined;
  const expected =
    'false, or { ratePerSecond, burst } with ratePerSecond above 0 and burst a whole number of 1 or more';
  if (!isObject(value)) return expected;
  const { ratePerSecond, burst } = value;
  const rateOk = typeof ratePerSecond === 'number' && Number.isFinite(ratePerSecond) && ratePerSecond > 0;
  return rateOk && positiveCount(burst) === undefined ? undefined : expected;
};

/** `tokenBudget` ({ tokens, periodMs }) or `messageRate` ({ messages, periodMs }): a whole count of 1 or more per a period of 1 ms or more. */
const perPeriod =
  (count: 'tokens' | 'messages'): Check =>
  (value) =>
    isObject(value) &&
    positiveCount(value[count]) === undefined &&
    typeof value.periodMs === 'number' &&
    Number.isFinite(value.periodMs) &&
    value.periodMs >= 1
      ? undefined
      : `{ ${count}, periodMs }: ${count} a whole number of 1 or more, periodMs a number of milliseconds of 1 or more`;

const path: Check = (value) =>
  typeof value === 'string' && value.startsWith('/') ? undefined : "a string starting with '/' (such as '/ws')";

const stringArray: Check = (value) =>
  Array.isArray(value) && value.every((each) => typeof each === 'string') ? undefined : 'an array of strings';

const tools: Check = (value) =>
  Array.isArray(value) &&
  value.every((tool) => isObject(tool) && typeof tool.name === 'string' && typeof tool.execute === 'function')
    ? undefined
    : 'an array of tools (objects with a name and an execute function)';

const conversationOptions: Check = (value) => {
  const expected = 'an object { systemPrompt?: string, maxHistoryLength?: whole number of 1 or more }';
  if (!isObject(value)) return expected;
  const { systemPrompt, maxHistoryLength } = value;
  if (systemPrompt !== undefined && typeof systemPrompt !== 'string') return expected;
  if (maxHistoryLength !== undefined && positiveCount(maxHistoryLength) !== undefined) return expected;
  return undefined;
};

const logger = withMethods(
  'a logger: an object with error, warn and info methods (pino, console, consoleLogger({ level }); for no logs, silentLogger)',
  ['error', 'warn', 'info'],
);

/** Option names that carried no unit, kept working for one minor version: old name → new name. */
export const DEPRECATED_OPTION_NAMES = {
  sessionTtl: 'sessionTtlMs',
  toolTimeout: 'toolTimeoutMs',
  upstreamIdleTimeout: 'upstreamIdleTimeoutMs',
  stopRetryAfter: 'stopRetryAfterMs',
  highWaterMark: 'highWaterMarkBytes',
  sendBufferHardLimit: 'sendBufferHardLimitBytes',
} as const;

type DeprecatedName = keyof typeof DEPRECATED_OPTION_NAMES;

/** The options with every deprecated name resolved to its new one. */
export type CheckedOptions = Omit<WSServerOptions, DeprecatedName>;

/** What every option takes: the single place a new option must be added to. */
const CHECKS: { readonly [K in keyof CheckedOptions]-?: Check } = {
  port: integer(0, 65_535),
  hostname: string,
  path,
  aiSdkPath: (value) =>
    value === false ? undefined : path(value) && "false, or a string starting with '/' (such as '/ai-sdk')",
  agUiPath: (value) =>
    value === false ? undefined : path(value) && "false, or a string starting with '/' (such as '/ag-ui')",
  conversationBindings: withMethods('conversation bindings: an object with get, bind, set and close methods', [
    'get',
    'bind',
    'set',
    'close',
  ]),
  maxConnections: positiveCount,
  maxConnectionsPerSession: positiveCount,
  heartbeatInterval: durationMs(0),
  enableCompression: compression,
  maxPayload: positiveCount,
  conversationOptions,
  llm: fn,
  tools,
  mcpServers: (value) =>
    Array.isArray(value) && value.every(isObject)
      ? undefined
      : 'a list of MCP server settings ({ command } or { url })',
  telemetry: (value) =>
    hasMethods(value, ['provider', 'tools', 'startReply'])
      ? undefined
      : 'a Telemetry (provider, tools and startReply methods), such as otelTelemetry() from llm-ws/otel',
  builtinTools: boolean,
  maxToolSteps: positiveCount,
  upstreamIdleTimeoutMs: durationMs(1),
  toolTimeoutMs: durationMs(1),
  requireApproval: stringArray,
  approvalTimeoutMs: durationMs(1),
  clientToolTimeoutMs: durationMs(1),
  maxClientToolResultBytes: positiveCount,
  keepReasoning: boolean,
  maxMessageLength: positiveCount,
  maxAttachmentBytes: positiveCount,
  maxMessageAttachmentBytes: positiveCount,
  attachmentMediaTypes: (value) =>
    Array.isArray(value) && value.every((item) => typeof item === 'string' && item.includes('/'))
      ? undefined
      : "a list of media types ('image/png', 'image/*')",
  attachmentUrls: boolean,
  attachmentStore: withMethods('an attachment store (memoryAttachmentStore())', ['put', 'get']),
  sessionTtlMs: durationMs(1),
  maxSessions: positiveCount,
  sessionMemoryBudgetBytes: positiveCount,
  maxReplyTextBytes: positiveCount,
  maxToolArgumentsBytes: positiveCount,
  replayMaxMessages: positiveCount,
  replayMaxBytes: positiveCount,
  onDisconnect: oneOf('continue', 'cancel'),
  concurrentMessages: oneOf('queue', 'interrupt', 'reject'),
  maxQueuedMessages: positiveCount,
  rateLimit,
  tokenBudget: perPeriod('tokens'),
  messageRate: perPeriod('messages'),
  quotaCounter: withMethods(
    'a quota counter: an object with add and close methods (memoryQuotaCounter(), redisQuotaCounter({ url }))',
    ['add', 'close'],
  ),
  quotaKey: fn,
  highWaterMarkBytes: positiveCount,
  sendBufferHardLimitBytes: positiveCount,
  authenticate: fn,
  metricsAuth: boolean,
  allowedOrigins: stringArray,
  stopRetryAfterMs: durationMs(0),
  demoDir: string,
  upstreamHealthCheck: fn,
  store: withMethods('a session store (memoryStore() or redisStore(...))', ['open']),
  server: withMethods('a node:http Server (or an https one)', ['listen', 'on', 'address']),
  noServer: boolean,
  transport: oneOf('ws', 'bun'),
  logger,
  registry: withMethods('a prom-client Registry', ['registerMetric', 'metrics']),
  collectDefaultMetrics: boolean,
};

/** What {@link checkOptions} found besides errors: for the constructor to log once it stands. */
export interface OptionsCheck {
  readonly options: CheckedOptions;
  /** Deprecated names given, with their new names. */
  readonly deprecated: readonly (readonly [DeprecatedName, string])[];
  /** Names no option has (a typo, or an option of another version): ignored. */
  readonly unknown: readonly string[];
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  // Objects and functions were described above: what is left is a primitive.
  // eslint-disable-next-line @typescript-eslint/no-base-to-string
  return String(value);
}

const invalid = (message: string): LLMWSError => new LLMWSError('invalid_options', `WSServer: ${message}`);

/**
 * Checks every option against {@link CHECKS} (an `undefined` value counts as absent) and resolves
 * deprecated names. Throws an `invalid_options` {@link LLMWSError} at the first wrong value.
 */
export function checkOptions(given: unknown): OptionsCheck {
  if (given === undefined) return { options: {}, deprecated: [], unknown: [] };
  if (!isObject(given) || Array.isArray(given)) throw invalid(`options must be an object, got ${describe(given)}`);
  const options: Record<string, unknown> = {};
  const deprecated: [DeprecatedName, string][] = [];
  const unknown: string[] = [];
  for (const [key, value] of Object.entries(given)) {
    if (value === undefined) continue;
    const name = Object.hasOwn(DEPRECATED_OPTION_NAMES, key) ? DEPRECATED_OPTION_NAMES[key as DeprecatedName] : key;
    if (name !== key) {
      if (given[name] !== undefined) throw invalid(`give \`${name}\` or its deprecated name \`${key}\`, not both`);
      deprecated.push([key as DeprecatedName, name]);
    }
    const check: Check | undefined = Object.hasOwn(CHECKS, name) ? CHECKS[name as keyof CheckedOptions] : undefined;
    if (!check) {
      unknown.push(key);
      continue;
    }
    const expected = check(value);
    if (expected !== undefined) throw invalid(`option \`${key}\` must be ${expected}, got ${describe(value)}`);
    options[name] = value;
  }
  if (options.server !== undefined && options.noServer === true)
    throw invalid('give `server` or `noServer: true`, not both');
  if (options.transport === 'bun' && (options.server !== undefined || options.noServer === true))
    throw invalid("transport 'bun' listens with Bun.serve itself: not with `server` or `noServer`");
  if (options.transport === 'bun' && options.enableCompression !== undefined && options.enableCompression !== false)
    throw invalid("transport 'bun' sends uncompressed frames: not with `enableCompression`");
  if (options.metricsAuth === true && options.authenticate === undefined) {
    throw invalid('metricsAuth needs authenticate: there is no token to ask /metrics for');
  }
  return { options, deprecated, unknown };
}

/** Deprecated names already warned about in this process: each is named once, not per server. */
const warnedDeprecated = new Set<string>();

/** Whether `name`'s deprecation is still to be logged (true once per process and name). */
export function firstUseOfDeprecated(name: string): boolean {
  if (warnedDeprecated.has(name)) return false;
  warnedDeprecated.add(name);
  return true;
}
