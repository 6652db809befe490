import { concatMap, from, map, type Observable, type SchedulerLike, timer } from 'rxjs';
import type { HistoryMessage } from '../protocol/codecs';
import type { LLMEvent, LLMProvider, LLMRequest } from './types';
import { isWhitespaceAt, wordChunks } from '../util/word-chunks';

/** Pause between the offline model's chunks unless configured, in ms: slow enough to see it stream. */
export const DEFAULT_OFFLINE_CHUNK_DELAY_MS = 30;

/** Settings of the {@link offlineProvider}. */
export interface OfflineProviderOptions {
  /** Pause before each event, in ms. @default DEFAULT_OFFLINE_CHUNK_DELAY_MS */
  readonly chunkDelayMs?: number;
  /** For tests: the scheduler of the pauses. */
  readonly scheduler?: SchedulerLike;
}

/** What the offline model says to anything it cannot answer. */
export const OFFLINE_HELP_TEXT =
  "I'm the offline demo model of llm-ws, so I can only tell the time and do arithmetic: " +
  'try "what time is it?" or "what is 2+3*4?". To talk to a real model, set OPENAI_API_KEY ' +
  '(and OPENAI_BASE_URL for any other OpenAI-compatible server, such as Ollama) and restart the server.';

const TIME_QUESTION = /\b(time|date|today|clock)\b/i;
const LEADING_WORDS = /^\s*(please\s+)?(what\s+is|what's|whats|calculate|compute|evaluate|how\s+much\s+is)\s*/i;
const ARITHMETIC = /^[\d\s+\-*/^%().,!×÷−a-z]+$/i;

/**
 * The longest question the offline model looks for arithmetic in: its patterns then run over
 * bounded input only (a regexp over unbounded input can overflow V8's stack or go quadratic).
 */
const MAX_QUESTION_LENGTH = 2000;

/** The arithmetic in a question such as "what is 2+3*4?", if it holds any. */
export function arithmeticIn(text: string): string | undefined {
  if (text.length > MAX_QUESTION_LENGTH) return undefined;
  const candidate = text
    .replace(LEADING_WORDS, '')
    .replace(/[\s?]+$/, '')
    .replace(/\.+$/, '')
    .trim();
  if (!ARITHMETIC.test(candidate) || !/\d/.test(candidate)) return undefined;
  // A bare number is not a calculation; an operator or a function call makes it one.
  return /[+\-*/^%!×÷−]|[a-z]\s*\(/i.test(candidate) ? candidate : undefined;
}

function words(text: string): string[] {
  const chunks = wordChunks(text);
  // White space at the start leads the first word, as `\S+\s*` would not split it off.
  if (chunks.length > 1 && isWhitespaceAt(text, 0)) chunks.splice(0, 2, `${chunks[0]}${chunks[1]}`);
  return chunks.length ? chunks : [text];
}

function toolCallEvents(name: string, args: Record<string, unknown>, id: string): LLMEvent[] {
  const json = JSON.stringify(args);
  const half = Math.ceil(json.length / 2);
  // Split the arguments across two fragments, as real models stream them.
  return [
    { type: 'tool_call_delta', index: 0, id, name, argumentsDelta: json.slice(0, half) },
    { type: 'tool_call_delta', index: 0, argumentsDelta: json.slice(half) },
    { type: 'finish', reason: 'tool_calls' },
  ];
}

function describeToolResult(message: HistoryMessage): string {
  if (message.content.startsWith('Error: '))
    return `The ${message.toolName ?? 'tool'} tool failed: ${message.content.slice(7)}`;
  try {
    const value = JSON.parse(message.content) as Record<string, unknown>;
    if (message.toolName === 'get_current_time') return `It is ${String(value.iso)} (${String(value.timeZone)}).`;
    if (message.toolName === 'calculate') return `${String(value.expression)} = ${String(value.result)}`;
  } catch {
    // not JSON: quote it as it is
  }
  return `${message.toolName ?? 'The tool'} returned ${message.content}`;
}

/** The offline model's answer to a conversation: tool calls first, then text. Pure. */
export function offlineAnswer(request: LLMRequest, callId: string): LLMEvent[] {
  const last = request.messages[request.messages.length - 1];
  let text = OFFLINE_HELP_TEXT;
  if (last?.role === 'tool') {
    const results: HistoryMessage[] = [];
    for (let i = request.messages.length - 1; request.messages[i]?.role === 'tool'; i--)
      results.unshift(request.messages[i] as HistoryMessage);
    text = results.map(describeToolResult).join(' ');
  } else if (last?.role === 'user') {
    const mayCall = (name: string): boolean =>
      request.options.toolChoice !== 'none' && request.tools.some((tool) => tool.name === name);
    const expression = arithmeticIn(last.content);
    if (expression !== undefined && mayCall('calculate')) return toolCallEvents('calculate', { expression }, callId);
    if (TIME_QUESTION.test(last.content) && mayCall('get_current_time'))
      return toolCallEvents('get_current_time', {}, callId);
  }
  const pieces = words(text);
  const promptTokens = request.messages.reduce((sum, message) => sum + words(message.content).length, 0);
  return [
    ...pieces.map((delta): LLMEvent => ({ type: 'text', delta })),
    { type: 'finish', reason: 'stop' },
    {
      type: 'usage',
      usage: { promptTokens, completionTokens: pieces.length, totalTokens: promptTokens + pieces.length },
    },
  ];
}

/**
 * A deterministic model with no network, for demos and tests: it answers "what time is it"
 * by calling `get_current_time`, arithmetic by calling `calculate`, and anything else with a
 * short text saying how to configure a real model. Not a language model.
 */
export function offlineProvider(options: OfflineProviderOptions = {}): LLMProvider {
  const delay = options.chunkDelayMs ?? DEFAULT_OFFLINE_CHUNK_DELAY_MS;
  let calls = 0;
  return (request): Observable<LLMEvent> => {
    const callId = `call_offline_${++calls}`;
    return from(offlineAnswer(request, callId)).pipe(
      concatMap((event) => timer(delay, options.scheduler).pipe(map(() => event))),
    );
  };
}
