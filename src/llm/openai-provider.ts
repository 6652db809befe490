import { type AttachmentBytes, readAttachments, userContent } from './content-parts';
import type OpenAI from 'openai';
import type {
  ChatCompletionChunk,
  ChatCompletionCreateParamsStreaming,
  ChatCompletionMessageParam,
} from 'openai/resources/chat/completions';
import { Observable } from 'rxjs';
import { UpstreamError } from '../errors';
import type { HistoryMessage } from '../protocol/codecs';
import type { IncomingMessage } from 'node:http';
import { nodeBodyOf, nodeHttpFetch } from './node-http-fetch';
import { lazyRequire } from '../util/lazy-require';
import {
  DirectExchange,
  type DirectTemplate,
  type UpstreamHttpClient,
  directTemplate,
  openDirect,
  retryAfterMsOf,
  sdkOf,
} from './openai-direct';
import { readChatCompletionNodeStream, readChatCompletionStream } from './sse-stream';
import type { LLMEvent, LLMFinishReason, LLMProvider, LLMProviderInfo, LLMRequest } from './types';

/** The openai SDK, loaded by the first provider made (not by `import { WSClient } from 'llm-ws'`). */
const openai = lazyRequire('openai') as () => { default: typeof OpenAI };

/** The model asked for unless configured (or `LLM_MODEL` is set). */
export const DEFAULT_MODEL = 'gpt-4o-mini';
/** Longest `Retry-After` the SDK waits out before a retry unless configured, in ms. */
export const DEFAULT_MAX_RETRY_AFTER_MS = 5000;

/** What one SSE event of a reply may take beyond its text and arguments (ids, names, JSON around them), in bytes. */
const EVENT_ENVELOPE_BYTES = 1024 * 1024;

export { retryAfterMsOf };

/** How to reach an OpenAI-compatible endpoint. Unset fields fall back to the environment. */
export interface OpenAIProviderOptions {
  /** @default process.env.OPENAI_API_KEY */
  readonly apiKey?: string;
  /** Any OpenAI-compatible server: OpenAI, Ollama, vLLM, llama.cpp, LM Studio. @default process.env.OPENAI_BASE_URL */
  readonly baseURL?: string;
  /** @default process.env.LLM_MODEL ?? DEFAULT_MODEL */
  readonly model?: string;
  /** Retries the SDK makes for 429, 5xx and connection errors. @default 2 (the SDK's default) */
  readonly maxRetries?: number;
  /**
   * Longest wait before a retry the SDK may take when the endpoint asks for one (`Retry-After`),
   * in ms: an endpoint asking for longer is not retried, and the client gets `rate_limited` (or
   * `upstream_error`) at once, with `retryAfterMs`. Without a `Retry-After` the SDK backs off
   * 0.5 s, 1 s, ... (at most 8 s). @default DEFAULT_MAX_RETRY_AFTER_MS
   */
  readonly maxRetryAfterMs?: number;
  /** The SDK's timeout, which covers the wait for response headers, in ms. @default 600000 (the SDK's default) */
  readonly timeoutMs?: number;
  /**
   * How the provider sends its requests: `'node:http'` (a keep-alive agent, the answer read as a
   * Node stream: under Node the cheapest per chunk) or `'fetch'` (the runtime's own; under Bun
   * the cheapest, its `node:http` being JavaScript over its `fetch`). Ignored with `client` or
   * with the SDK logging requests: the SDK then makes them. @default `'fetch'` under Bun, else `'node:http'`
   */
  readonly httpClient?: UpstreamHttpClient;
  /** A client of your own (for a proxy, custom headers...); the options above are then ignored but `model`. */
  readonly client?: OpenAI;
}

function toOpenAIMessage(message: HistoryMessage, bytes: AttachmentBytes): ChatCompletionMessageParam {
  switch (message.role) {
    case 'system':
      return { role: 'system', content: message.content };
    case 'user':
      return { role: 'user', content: userContent(message, bytes) };
    case 'tool':
      return { role: 'tool', tool_call_id: message.toolCallId ?? '', content: message.content };
    case 'assistant':
      if (!message.toolCalls?.length) return { role: 'assistant', content: message.content };
      return {
        role: 'assistant',
        content: message.content === '' ? null : message.content,
        tool_calls: message.toolCalls.map((call) => ({
          id: call.id,
          type: 'function',
          function: { name: call.name, arguments: call.arguments },
        })),
      };
  }
}

/** The SDK's streaming request for one {@link LLMRequest}. */
export function makeChatCompletionParams(
  request: LLMRequest,
  model: string,
  attachments: AttachmentBytes = new Map(),
): ChatCompletionCreateParamsStreaming {
  const { temperature, maxTokens, toolChoice } = request.options;
  return {
    model,
    stream: true,
    stream_options: { include_usage: true },
    messages: request.messages.map((message) => toOpenAIMessage(message, attachments)),
    ...(temperature === undefined ? {} : { temperature }),
    // `max_tokens`, not its successor `max_completion_tokens`: OpenAI-compatible servers (Ollama, vLLM) read this one.
    // eslint-disable-next-line @typescript-eslint/no-deprecated
    ...(maxTokens === undefined ? {} : { max_tokens: maxTokens }),
    ...(request.tools.length === 0
      ? {}
      : {
          tools: request.tools.map((tool) => ({
            type: 'function' as const,
            function: { name: tool.name, description: tool.description, parameters: tool.parameters },
          })),
          ...(toolChoice ? { tool_choice: toolChoice } : {}),
        }),
  };
}

const finishReasons: Record<string, LLMFinishReason> = {
  stop: 'stop',
  length: 'length',
  tool_calls: 'tool_calls',
  function_call: 'tool_calls',
  content_filter: 'content_filter',
};

/** The reasoning text of a delta, under either name compatible servers use, or '' for none. */
function reasoningOf(delta: unknown): string {
  if (typeof delta !== 'object' || delta === null) return '';
  const { reasoning_content: content, reasoning } = delta as { reasoning_content?: unknown; reasoning?: unknown };
  if (typeof content === 'string' && content !== '') return content;
  return typeof reasoning === 'string' ? reasoning : '';
}

/** The events in one streamed chunk, in the order the API defines them. */
export function eventsOfChunk(chunk: ChatCompletionChunk): LLMEvent[] {
  const events: LLMEvent[] = [];
  for (const choice of Array.isArray(chunk.choices) ? chunk.choices : []) {
    // n > 1 is not requested; ignore stray choices (and garbage in their place).
    if (typeof choice !== 'object' || choice === null || choice.index !== 0) continue;
    const { delta } = choice;
    // Reasoning models behind OpenAI-compatible servers stream their thinking beside the text:
    // DeepSeek and vLLM as `reasoning_content`, Ollama and OpenRouter as `reasoning`.
    const reasoning = reasoningOf(delta);
    if (reasoning) events.push({ type: 'reasoning', delta: reasoning });
    if (delta?.content) events.push({ type: 'text', delta: delta.content });
    for (const call of Array.isArray(delta?.tool_calls) ? delta.tool_calls : []) {
      if (typeof call !== 'object' || call === null) continue;
      events.push({
        type: 'tool_call_delta',
        index: call.index,
        ...(call.id ? { id: call.id } : {}),
        ...(call.function?.name ? { name: call.function.name } : {}),
        ...(call.function?.arguments ? { argumentsDelta: call.function.arguments } : {}),
      });
    }
    if (choice.finish_reason) events.push({ type: 'finish', reason: finishReasons[choice.finish_reason] ?? 'stop' });
  }
  if (typeof chunk.usage === 'object' && chunk.usage !== null) {
    const reasoningTokens = chunk.usage.completion_tokens_details?.reasoning_tokens;
    const cachedTokens = chunk.usage.prompt_tokens_details?.cached_tokens;
    events.push({
      type: 'usage',
      usage: {
        promptTokens: chunk.usage.prompt_tokens,
        completionTokens: chunk.usage.completion_tokens,
        totalTokens: chunk.usage.total_tokens,
        ...(typeof reasoningTokens === 'number' ? { reasoningTokens } : {}),
        ...(typeof cachedTokens === 'number' ? { cachedTokens } : {}),
      },
    });
  }
  return events;
}

/**
 * Maps whatever the SDK threw to an {@link UpstreamError} with an honest `retryable`. `sdk` is
 * the client's own (its error classes), whichever build of openai (ES module or CommonJS) made it.
 */
export function toUpstreamError(error: unknown, sdk: typeof OpenAI): UpstreamError {
  if (error instanceof UpstreamError) return error;
  if (error instanceof sdk.APIConnectionTimeoutError) {
    return new UpstreamError('upstream_timeout', 'the model endpoint did not answer in time', {
      retryable: true,
      cause: error,
    });
  }
  if (error instanceof sdk.APIConnectionError) {
    // The SDK's message ("Connection error.") says nothing the cause chain does not: a logger
    // prints causes after the message (pino's `err`), so naming it here would say it twice.
    return new UpstreamError('upstream_error', 'could not reach the model endpoint', { retryable: true, cause: error });
  }
  if (error instanceof sdk.RateLimitError) {
    const retryAfterMs = retryAfterMsOf(error.headers);
    return new UpstreamError('rate_limited', answered('the model endpoint is rate limiting', error), {
      retryable: true,
      status: 429,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    });
  }
  // The SDK types a bare APIError's status and headers as `any`: name what they are.
  const status = error instanceof sdk.APIError ? (error.status as number | undefined) : undefined;
  if (error instanceof sdk.APIError && status !== undefined) {
    // 408, 409 and 5xx may pass on a retry; other 4xx (bad key, bad request, unknown model) will not.
    const retryable = status >= 500 || status === 408 || status === 409;
    const retryAfterMs = retryable ? retryAfterMsOf(error.headers as Headers | undefined) : undefined;
    return new UpstreamError('upstream_error', answered(`the model endpoint answered ${status}`, error), {
      retryable,
      status,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    });
  }
  // Anything else happened while reading the stream: the connection was cut mid-way.
  if (error instanceof Error)
    return new UpstreamError('upstream_error', 'the model stream failed', { retryable: true, cause: error });
  return new UpstreamError('upstream_error', `the model stream failed: ${String(error)}`, { retryable: true });
}

/** Longest text of the endpoint's error body quoted in a message: it reaches clients and logs. */
const MAX_ENDPOINT_TEXT = 500;

/**
 * `lead`, then the text the endpoint's error body gave, once. The SDK's own message prefixes the
 * status (or dumps the whole body when it has no text), and the SDK error is not kept as the
 * `cause`: everything it says is here (text, `status`, `retryAfterMs`), and a logger printing
 * causes after the message would repeat it.
 */
function answered(lead: string, error: { readonly error?: unknown }): string {
  const body = error.error as { message?: unknown } | undefined;
  const text = typeof body?.message === 'string' ? body.message.trim() : '';
  if (!text) return lead;
  return `${lead}: ${text.length > MAX_ENDPOINT_TEXT ? `${text.slice(0, MAX_ENDPOINT_TEXT)}…` : text}`;
}

/**
 * `nodeHttpFetch`, but an answer that asks for a longer wait than `maxRetryAfterMs` before a retry
 * is marked `x-should-retry: false` (a header the SDK obeys), so the SDK gives up at once instead
 * of keeping the client waiting; the wait asked for reaches the client as `retryAfterMs`.
 */
function boundedRetryFetch(maxRetryAfterMs: number): typeof nodeHttpFetch {
  return async (input, init) => {
    const response = await nodeHttpFetch(input, init);
    const retryAfterMs = response.ok ? undefined : retryAfterMsOf(response.headers);
    if (retryAfterMs !== undefined && retryAfterMs > maxRetryAfterMs) response.headers.set('x-should-retry', 'false');
    return response;
  };
}

function makeClient(options: OpenAIProviderOptions): OpenAI {
  const baseURL = options.baseURL ?? process.env.OPENAI_BASE_URL;
  return (
    options.client ??
    new (openai().default)({
      // Local servers (Ollama, llama.cpp) need no key, but the SDK refuses to start without one.
      apiKey: options.apiKey ?? process.env.OPENAI_API_KEY ?? (baseURL ? 'unused' : undefined),
      baseURL,
      maxRetries: options.maxRetries,
      timeout: options.timeoutMs,
      // Node's HTTP client: the stream is read as a Node stream, far cheaper per chunk than fetch's.
      fetch: boundedRetryFetch(options.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS),
    })
  );
}

/**
 * Whether the endpoint answers at all, for `/health`: lists models with a short timeout. Any
 * HTTP answer counts (some compatible servers have no model list); no answer does not.
 */
export function openAIHealthCheck(options: OpenAIProviderOptions = {}): () => Promise<boolean> {
  const client = makeClient(options);
  return async () => {
    try {
      await client.models.list({ timeout: 5000, maxRetries: 0 });
      return true;
    } catch (error) {
      return error instanceof sdkOf(client).APIError && error.status !== undefined;
    }
  };
}

/** One request to the endpoint, by either path: how it is opened, and how unsubscribing stops it. */
interface UpstreamCall {
  /** The 2xx answer's body: a Node stream, or a fetch Response when the SDK's own fetch made it. */
  open(params: ChatCompletionCreateParamsStreaming): Promise<IncomingMessage | Response>;
  readonly cancelled: boolean;
  /** Settles once cancelled: a wait for a slow client cannot outlive the request. */
  readonly whenCancelled: () => Promise<void>;
  cancel(): void;
}

/** The fast path: the provider's template, sent straight over the keep-alive agent (./openai-direct). */
function directCall(template: DirectTemplate): UpstreamCall {
  const exchange = new DirectExchange();
  return {
    open: (params) => openDirect(template, JSON.stringify(params), exchange),
    get cancelled() {
      return exchange.cancelled;
    },
    whenCancelled: () => exchange.whenCancelled(),
    cancel: () => exchange.cancel(),
  };
}

/** The SDK makes the request (a client of the caller's, or SDK logging on); its signal aborts it. */
function sdkCall(client: OpenAI): UpstreamCall {
  const controller = new AbortController();
  let cancelled: Promise<void> | undefined;
  return {
    open: async (params) => {
      const response = await client.chat.completions.create(params, { signal: controller.signal }).asResponse();
      return nodeBodyOf(response) ?? response;
    },
    get cancelled() {
      return controller.signal.aborted;
    },
    whenCancelled: () =>
      (cancelled ??= new Promise<void>((resolve) => {
        if (controller.signal.aborted) resolve();
        else controller.signal.addEventListener('abort', () => resolve(), { once: true });
      })),
    cancel: () => controller.abort(),
  };
}

/**
 * A provider for any OpenAI-compatible endpoint, streaming with `stream_options.include_usage`.
 * Unsubscribing closes the HTTP request at once, so the endpoint sees the connection close, not
 * at the next chunk.
 *
 * With a client of its own making, the provider asks the SDK once for the request's URL and
 * headers and then sends each request itself (./openai-direct), keeping the SDK's errors and
 * retry rules; with `options.client`, or with the SDK logging requests (`OPENAI_LOG=info` or
 * `debug`), the SDK makes every request.
 */
export function openAIProvider(options: OpenAIProviderOptions = {}): LLMProvider {
  const client = makeClient(options);
  const model = options.model ?? process.env.LLM_MODEL ?? DEFAULT_MODEL;
  // The SDK builds its request asynchronously, once; requests made before it is ready wait for
  // it. Without one (a client of the caller's, SDK logging, or no key: the SDK reports that on
  // each request) the SDK makes every request.
  let template: DirectTemplate | undefined;
  let templateReady: Promise<unknown> | undefined = options.client
    ? undefined
    : directTemplate(client, options.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS, options.httpClient).then(
        (made) => {
          template = made;
          templateReady = undefined;
        },
        () => {
          templateReady = undefined;
        },
      );
  const callFor = (): UpstreamCall => (template ? directCall(template) : sdkCall(client));

  const provider = (request: LLMRequest): Observable<LLMEvent> =>
    new Observable<LLMEvent>((subscriber) => {
      let call: UpstreamCall | undefined;
      let unsubscribed = false;
      // Set once the stream has ended normally (before the complete that tears this down): a
      // cancel then would only destroy the keep-alive connection the rest of the body drains on.
      let settled = false;
      const run = async (): Promise<void> => {
        if (templateReady) await templateReady;
        if (unsubscribed) return;
        call = callFor();
        const { whenCancelled } = call;
        // The body is parsed here, which costs far less CPU than the SDK's iterator.
        const attachments = await readAttachments(request);
        if (unsubscribed) return;
        const body = await call.open(makeChatCompletionParams(request, model, attachments));
        let described = false;
        const onChunk = (chunk: ChatCompletionChunk): void => {
          // Which completion and model answered, once (for telemetry): every chunk repeats them.
          if (!described && typeof chunk === 'object' && chunk !== null) {
            described = true;
            const { id, model } = chunk as { id?: unknown; model?: unknown };
            subscriber.next({
              type: 'response',
              ...(typeof id === 'string' ? { id } : {}),
              ...(typeof model === 'string' ? { model } : {}),
            });
          }
          for (const event of eventsOfChunk(chunk)) subscriber.next(event);
        };
        // A slow client holds the model's stream back, instead of the server buffering it.
        const pause = (): Promise<unknown> | undefined => {
          const writable = request.whenWritable?.();
          return writable && Promise.race([writable, whenCancelled()]);
        };
        // One event cannot carry more than the reply may hold (twice: JSON may escape each character).
        const { limits } = request;
        const readOptions = limits
          ? { maxEventBytes: 2 * (limits.maxTextBytes + limits.maxToolArgumentsBytes) + EVENT_ENVELOPE_BYTES }
          : {};
        if (!(body instanceof Response)) {
          await readChatCompletionNodeStream(body, onChunk, pause, readOptions);
        } else {
          if (!body.body)
            throw new UpstreamError('upstream_error', 'the model endpoint answered without a body', {
              retryable: true,
            });
          await readChatCompletionStream(body.body, onChunk, pause, readOptions);
        }
        settled = true;
        subscriber.complete();
      };
      // A failed request is still cancelled: its body may be half read.
      run().catch((error: unknown) => {
        if (!call?.cancelled) subscriber.error(toUpstreamError(error, sdkOf(client)));
      });
      return () => {
        unsubscribed = true;
        if (!settled) call?.cancel();
      };
    });
  return Object.assign(provider, { info: providerInfo(client, model) });
}

/** What `openAIProvider` says about itself for telemetry: the API it speaks, the model, the endpoint. */
function providerInfo(client: OpenAI, model: string): LLMProviderInfo {
  try {
    const url = new URL(client.baseURL);
    const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
    return { providerName: 'openai', model, serverAddress: url.hostname, serverPort: port };
  } catch {
    return { providerName: 'openai', model };
  }
}
