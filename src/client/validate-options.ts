import { LLMWSError } from '../errors';

/** A check of one option's value; returns what it should be when it is not. */
type Check = (value: unknown) => string | undefined;

const number =
  (min: number, { integer = false, finite = true, above = false } = {}): Check =>
  (value) =>
    typeof value !== 'number' ||
    Number.isNaN(value) ||
    (finite && !Number.isFinite(value)) ||
    (above ? value <= min : value < min) ||
    (integer && Number.isFinite(value) && !Number.isInteger(value))
      ? `${integer ? 'an integer' : 'a number'} ${above ? '>' : '>='} ${min}${finite ? '' : ' (or Infinity)'}`
      : undefined;

const fn: Check = (value) => (typeof value === 'function' ? undefined : 'a function');

const NOT_A_URL = 'a WebSocket URL string such as ws://localhost:3000/ws';

const url: Check = (value) => {
  if (typeof value !== 'string') return NOT_A_URL;
  try {
    // A relative URL resolves against the page, as the browser's WebSocket resolves it.
    const { protocol } = new URL(value, (globalThis as { location?: { href?: string } }).location?.href);
    return /^(wss?|https?):$/.test(protocol) ? undefined : 'a ws:, wss:, http: or https: URL';
  } catch {
    return 'a valid WebSocket URL such as ws://localhost:3000/ws';
  }
};

/** Each client option and what it must be; an option left undefined takes its default. */
const CHECKS: Record<string, Check> = {
  url,
  reconnectAttempts: number(0, { integer: true, finite: false }),
  reconnectDelay: number(0),
  maxReconnectDelay: number(0),
  reconnectJitter: (value) => number(0)(value) ?? ((value as number) > 1 ? 'a number from 0 to 1' : undefined),
  heartbeatInterval: number(0),
  timeout: number(0, { above: true }),
  maxQueueSize: number(0, { integer: true }),
  queueTimeoutMs: number(0, { finite: false }),
  replyTimeoutMs: number(0, { above: true, finite: false }),
  protocols: (value) =>
    typeof value === 'string' || (Array.isArray(value) && value.every((item) => typeof item === 'string'))
      ? undefined
      : 'a string or an array of strings',
  WebSocketCtor: fn,
  scheduler: (value) =>
    typeof (value as { now?: unknown } | null)?.now === 'function' &&
    typeof (value as { schedule?: unknown }).schedule === 'function'
      ? undefined
      : 'an RxJS scheduler',
  random: fn,
  tools: (value) =>
    Array.isArray(value)
      ? undefined
      : 'an array of { name (1 to 64 letters, digits, _ or -), description, parameters, execute }',
  maxToolResultBytes: number(1, { integer: true }),
  session: (value) =>
    typeof (value as { resumeToken?: unknown } | null)?.resumeToken === 'string'
      ? undefined
      : 'an object { sessionId, resumeToken }',
  share: (value) => (typeof value === 'boolean' ? undefined : 'a boolean'),
  humanInTheLoop: fn,
};

/**
 * Checks a client's options at construction, so a typo fails at once rather than as a hang or
 * a reconnect loop. Throws {@link LLMWSError} `invalid_options` naming the option.
 */
export function validateClientOptions(options: unknown): void {
  if (typeof options !== 'object' || options === null) throw invalidOptions('url', options, NOT_A_URL);
  for (const [name, check] of Object.entries(CHECKS)) {
    const value = (options as Record<string, unknown>)[name];
    if (value === undefined && name !== 'url') continue;
    const expected = check(value);
    if (expected) throw invalidOptions(name, value, expected);
  }
  // Client tools run in the opt-in part (humanInTheLoop, which checks them): refused without it.
  const { tools, humanInTheLoop } = options as { tools?: unknown[]; humanInTheLoop?: unknown };
  if (tools && tools.length > 0 && !humanInTheLoop)
    throw new LLMWSError(
      'invalid_options',
      "WSClient: option `tools` needs the option `humanInTheLoop` (import { humanInTheLoop } from 'llm-ws/client')",
    );
}

function invalidOptions(name: string, value: unknown, expected: string): LLMWSError {
  const shown =
    typeof value === 'string' ? JSON.stringify(value) : typeof value === 'function' ? 'a function' : String(value);
  return new LLMWSError('invalid_options', `WSClient: option \`${name}\` must be ${expected}, got ${shown}`);
}
