/**
 * What the OpenAI test server answers: the scenarios a test scripts, and the Chat Completions
 * SSE events each one becomes (chunks, tool-call fragments, usage), apart from the HTTP serving.
 */
import { wordChunks } from '../util/word-chunks';

/** One tool call a scenario makes the model ask for. */
export interface ScriptedToolCall {
  /** @default `call_<n>` */
  readonly id?: string;
  readonly name: string;
  /** An object (sent as JSON) or raw text (to send malformed arguments). */
  readonly arguments: unknown;
}

/**
 * Reasoning a scenario streams before its text or tool calls, as reasoning models behind
 * OpenAI-compatible servers do: each piece one delta, under `field` (DeepSeek and vLLM say
 * `reasoning_content`, Ollama and OpenRouter `reasoning`). The usage then reports them as
 * `completion_tokens_details.reasoning_tokens`.
 */
export interface ScriptedReasoning {
  /** Pieces of reasoning, one delta each. */
  readonly reasoning?: readonly string[];
  /** @default 'reasoning_content' */
  readonly reasoningField?: 'reasoning_content' | 'reasoning';
}

/**
 * What a scenario's usage chunk says beyond its counts (prompt tokens are the request's words,
 * completion tokens the streamed pieces).
 */
export interface ScriptedUsage {
  /** Of the prompt tokens, those reported as served from the prompt cache (`prompt_tokens_details.cached_tokens`). */
  readonly cachedTokens?: number;
  /** Sends no usage chunk even when asked for one, as some compatible servers do. @default false */
  readonly omitUsage?: boolean;
}

/** How the test server answers one request. */
export type TestScenario =
  /**
   * Streams `chunks` as text deltas, then the finish reason and (when asked for) usage. A chunk
   * may contain {@link EMIT_TIME_PLACEHOLDER}: it is replaced by the wall-clock time, in ms with
   * three decimals, at the moment the chunk is written, to measure the latency of a relay.
   */
  | (ScriptedReasoning &
      ScriptedUsage & {
        readonly type: 'text';
        readonly chunks: readonly string[];
        /** Pause before each chunk, in ms. @default 0 */
        readonly delayMs?: number;
        /** @default 'stop' */
        readonly finishReason?: 'stop' | 'length' | 'content_filter';
      })
  /**
   * Streams tool calls, each one's arguments split into fragments of `fragmentSize` characters.
   * Any tool name may be scripted: a server tool, one that needs approval, or a client tool the
   * `user_message` declared (the request's `tools` list says which the model was offered).
   */
  | (ScriptedReasoning &
      ScriptedUsage & {
        readonly type: 'tool_calls';
        readonly calls: readonly ScriptedToolCall[];
        /** Text streamed before the calls. */
        readonly text?: string;
        /** @default 8 */
        readonly fragmentSize?: number;
        readonly delayMs?: number;
      })
  /** Answers with an HTTP error and an OpenAI-shaped error body. */
  | {
      readonly type: 'error';
      readonly status: number;
      readonly message?: string;
      readonly headers?: Record<string, string>;
      /**
       * Makes the body this many bytes instead (a proxy's huge error page): the error JSON, then
       * spaces, written 64 KiB at a time as the socket drains, until written or the caller hangs up.
       */
      readonly bodyBytes?: number;
    }
  /** Streams `chunks`, then destroys the socket mid-stream (no finish, no [DONE]). */
  | { readonly type: 'cut'; readonly chunks: readonly string[]; readonly delayMs?: number }
  /** Streams `chunks`, then goes silent until the caller hangs up. */
  | { readonly type: 'stall'; readonly chunks: readonly string[] }
  /**
   * A runaway model: text deltas of `chunkSize` characters, or the arguments of one call to
   * `toolName` in fragments of that size, without end: as fast as the socket drains, until the
   * caller hangs up.
   */
  | { readonly type: 'endless'; readonly toolName?: string; /** @default 1024 */ readonly chunkSize?: number }
  /** Writes each of `data` verbatim as one SSE `data:` line (garbage such as `null`), then `[DONE]`. */
  | { readonly type: 'raw'; readonly data: readonly string[] };

export { wordChunks };

/** A text scenario for `text`, split into words. */
export function textScenario(text: string, options: { delayMs?: number } = {}): TestScenario {
  return { type: 'text', chunks: wordChunks(text), ...options };
}

/** Words in the request's messages: the prompt tokens the usage reports. */
function countWords(body: any): number {
  const messages: any[] = Array.isArray(body?.messages) ? body.messages : [];
  return messages.reduce((sum, message) => sum + wordChunks(String(message?.content ?? '')).length, 0);
}

/** An SSE payload written as it is, not as JSON. */
export class RawData {
  constructor(readonly text: string) {}
}

/** The events of an `endless` scenario: never done. */
function* endlessEvents(
  scenario: Extract<TestScenario, { type: 'endless' }>,
  chunk: (delta: object) => unknown,
): Generator<{ delayMs: number; data: unknown }> {
  const piece = 'x'.repeat(scenario.chunkSize ?? 1024);
  const { toolName } = scenario;
  if (toolName)
    yield {
      delayMs: 0,
      data: chunk({
        tool_calls: [
          { index: 0, id: 'call_endless', type: 'function', function: { name: toolName, arguments: '{"a":"' } },
        ],
      }),
    };
  const delta = toolName ? { tool_calls: [{ index: 0, function: { arguments: piece } }] } : { content: piece };
  for (;;) yield { delayMs: 0, data: chunk(delta) };
}

/** Builds the SSE events of a scenario: each entry is one `data:` payload (raw text when a string), with its delay. */
export function streamEvents(
  scenario: TestScenario,
  body: any,
  completionId: string,
): Iterable<{ delayMs: number; data: unknown }> {
  const base = {
    id: completionId,
    object: 'chat.completion.chunk',
    created: Math.floor(Date.now() / 1000),
    model: String(body.model),
  };
  const chunk = (delta: object, finishReason: string | null = null) => ({
    ...base,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
  });
  const events: { delayMs: number; data: unknown }[] = [
    { delayMs: 0, data: chunk({ role: 'assistant', content: '' }) },
  ];
  if (scenario.type === 'endless') {
    const first = events[0] as { delayMs: number; data: unknown };
    return (function* () {
      yield first;
      yield* endlessEvents(scenario, chunk);
    })();
  }
  if (scenario.type === 'raw')
    return [...events, ...scenario.data.map((data) => ({ delayMs: 0, data: new RawData(data) }))];
  let completionTokens = 0;
  let reasoningTokens = 0;
  const push = (delayMs: number, data: unknown): void => {
    completionTokens++;
    events.push({ delayMs, data });
  };
  if (scenario.type === 'text' || scenario.type === 'tool_calls') {
    const field = scenario.reasoningField ?? 'reasoning_content';
    for (const piece of scenario.reasoning ?? []) {
      reasoningTokens++;
      push(scenario.delayMs ?? 0, chunk({ [field]: piece }));
    }
  }
  if (scenario.type === 'text' || scenario.type === 'cut' || scenario.type === 'stall') {
    const delay = 'delayMs' in scenario ? (scenario.delayMs ?? 0) : 0;
    for (const text of scenario.chunks) push(delay, chunk({ content: text }));
    if (scenario.type !== 'text') return events;
    events.push({ delayMs: 0, data: chunk({}, scenario.finishReason ?? 'stop') });
  } else if (scenario.type === 'tool_calls') {
    const delay = scenario.delayMs ?? 0;
    const size = scenario.fragmentSize ?? 8;
    for (const text of wordChunks(scenario.text ?? '')) push(delay, chunk({ content: text }));
    scenario.calls.forEach((call, index) => {
      const id = call.id ?? `call_${completionId}_${index}`;
      const args = typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments);
      push(
        delay,
        chunk({ tool_calls: [{ index, id, type: 'function', function: { name: call.name, arguments: '' } }] }),
      );
      for (let at = 0; at < args.length; at += size) {
        push(delay, chunk({ tool_calls: [{ index, function: { arguments: args.slice(at, at + size) } }] }));
      }
    });
    events.push({ delayMs: 0, data: chunk({}, 'tool_calls') });
  }
  const scripted: ScriptedUsage = scenario.type === 'text' || scenario.type === 'tool_calls' ? scenario : {};
  if (body.stream_options?.include_usage && !scripted.omitUsage) {
    const promptTokens = countWords(body);
    events.push({
      delayMs: 0,
      data: {
        ...base,
        choices: [],
        usage: {
          prompt_tokens: promptTokens,
          completion_tokens: completionTokens,
          total_tokens: promptTokens + completionTokens,
          ...(reasoningTokens > 0 ? { completion_tokens_details: { reasoning_tokens: reasoningTokens } } : {}),
          ...(scripted.cachedTokens === undefined
            ? {}
            : { prompt_tokens_details: { cached_tokens: Math.min(scripted.cachedTokens, promptTokens) } }),
        },
      },
    });
  }
  return events;
}
