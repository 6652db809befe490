/**
 * An OpenAI-compatible HTTP server for tests: it streams real SSE over a real socket, the way
 * the Chat Completions API does, from scripted scenarios. Point the openai SDK (or
 * `llm-ws serve` through OPENAI_BASE_URL) at `baseURL`.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { validateChatRequest } from './validate-chat-request';

/** In a chunk's text, replaced by the time the chunk is written (see the `text` scenario). */
export const EMIT_TIME_PLACEHOLDER = '{{emitMs}}';

/** Wall-clock time in ms with sub-millisecond precision, comparable across processes on one machine. */
export const wallClockMs = (): number => performance.timeOrigin + performance.now();

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

/** How the test server answers one request. */
export type TestScenario =
  /**
   * Streams `chunks` as text deltas, then the finish reason and (when asked for) usage. A chunk
   * may contain {@link EMIT_TIME_PLACEHOLDER}: it is replaced by the wall-clock time, in ms with
   * three decimals, at the moment the chunk is written, to measure the latency of a relay.
   */
  | (ScriptedReasoning & {
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
  | (ScriptedReasoning & {
      readonly type: 'tool_calls';
      readonly calls: readonly ScriptedToolCall[];
      /** Text streamed before the calls. */
      readonly text?: string;
      /** @default 8 */
      readonly fragmentSize?: number;
      readonly delayMs?: number;
    })
  /** Answers with an HTTP error and an OpenAI-shaped error body. */
  | { readonly type: 'error'; readonly status: number; readonly message?: string; readonly headers?: Record<string, string> }
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

/** A request the server received. */
export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  /** The parsed JSON body (null for a GET). */
  readonly body: any;
  /** The client's port: requests with the same one came over one kept-alive connection. */
  readonly remotePort: number | undefined;
  /** How the exchange ended: the server finished it, or the caller hung up first. */
  readonly ended: Promise<'completed' | 'client_closed'>;
  /** SSE events written so far. The server waits for the socket to drain, as a real one does, so a caller that stops reading stops this count. */
  readonly eventsSent: number;
  /** Whether the server waits now for the socket to drain (the caller does not read fast enough). */
  readonly blocked: boolean;
  /** Resolves with `eventsSent` once the server waits for the socket to drain (at once if it does now). */
  whenBlocked(): Promise<number>;
  /** Resolves with `eventsSent` once the server's next wait for a drain ends (at once if it does not wait now). */
  whenDrained(): Promise<number>;
}

/** A running test server. */
export interface OpenAITestServer {
  /** `http://127.0.0.1:<port>/v1`: what OPENAI_BASE_URL should be. */
  readonly baseURL: string;
  readonly port: number;
  /** Every request so far, in arrival order. */
  readonly requests: readonly RecordedRequest[];
  /** Answers the next requests with these scenarios, in order. */
  enqueue(...scenarios: TestScenario[]): void;
  /** How to answer when the queue is empty. @default echo: "You said: <last user message>" */
  respondWith(handler: (request: RecordedRequest) => TestScenario): void;
  /** Resolves with the `index`-th request (0-based) once it has arrived. */
  request(index: number): Promise<RecordedRequest>;
  /** Closes the server and every connection to it. */
  close(): Promise<void>;
}

/** Splits text into word-sized chunks, as a model streams it. */
export function wordChunks(text: string): string[] {
  return text.match(/\S+\s*|\s+/g) ?? [];
}

/** A text scenario for `text`, split into words. */
export function textScenario(text: string, options: { delayMs?: number } = {}): TestScenario {
  return { type: 'text', chunks: wordChunks(text), ...options };
}

function lastUserText(body: any): string {
  const messages: any[] = Array.isArray(body?.messages) ? body.messages : [];
  const last = [...messages].reverse().find((message) => message?.role === 'user');
  return typeof last?.content === 'string' ? last.content : '';
}

const echo = (request: RecordedRequest): TestScenario => textScenario(`You said: ${lastUserText(request.body)}`);

function countWords(body: any): number {
  const messages: any[] = Array.isArray(body?.messages) ? body.messages : [];
  return messages.reduce((sum, message) => sum + wordChunks(String(message?.content ?? '')).length, 0);
}

function sendError(response: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  const type = status === 429 ? 'rate_limit_exceeded' : status >= 500 ? 'server_error' : 'invalid_request_error';
  response.writeHead(status, { 'content-type': 'application/json', ...headers });
  response.end(JSON.stringify({ error: { message, type, param: null, code: null } }));
}

/** An SSE payload written as it is, not as JSON. */
class RawData {
  constructor(readonly text: string) {}
}

/** The events of an `endless` scenario: never done. */
function* endlessEvents(scenario: Extract<TestScenario, { type: 'endless' }>, chunk: (delta: object) => unknown): Generator<{ delayMs: number; data: unknown }> {
  const piece = 'x'.repeat(scenario.chunkSize ?? 1024);
  const { toolName } = scenario;
  if (toolName) yield { delayMs: 0, data: chunk({ tool_calls: [{ index: 0, id: 'call_endless', type: 'function', function: { name: toolName, arguments: '{"a":"' } }] }) };
  const delta = toolName ? { tool_calls: [{ index: 0, function: { arguments: piece } }] } : { content: piece };
  for (;;) yield { delayMs: 0, data: chunk(delta) };
}

/** Builds the SSE events of a scenario: each entry is one `data:` payload (raw text when a string), with its delay. */
function streamEvents(scenario: TestScenario, body: any, completionId: string): Iterable<{ delayMs: number; data: unknown }> {
  const base = { id: completionId, object: 'chat.completion.chunk', created: Math.floor(Date.now() / 1000), model: String(body.model) };
  const chunk = (delta: object, finishReason: string | null = null) => ({
    ...base,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
  });
  const events: { delayMs: number; data: unknown }[] = [{ delayMs: 0, data: chunk({ role: 'assistant', content: '' }) }];
  if (scenario.type === 'endless') {
    const first = events[0] as { delayMs: number; data: unknown };
    return (function* () {
      yield first;
      yield* endlessEvents(scenario, chunk);
    })();
  }
  if (scenario.type === 'raw') return [...events, ...scenario.data.map((data) => ({ delayMs: 0, data: new RawData(data) }))];
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
      push(delay, chunk({ tool_calls: [{ index, id, type: 'function', function: { name: call.name, arguments: '' } }] }));
      for (let at = 0; at < args.length; at += size) {
        push(delay, chunk({ tool_calls: [{ index, function: { arguments: args.slice(at, at + size) } }] }));
      }
    });
    events.push({ delayMs: 0, data: chunk({}, 'tool_calls') });
  }
  if (body.stream_options?.include_usage) {
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
        },
      },
    });
  }
  return events;
}

/** Starts a test server on loopback. `port` 0 (the default) picks a free one. */
/** How a streamed answer fares on its socket: events written, and whether the server waits for a drain. */
class SocketWatch {
  eventsSent = 0;
  blocked = false;
  private readonly onBlocked = new Set<() => void>();
  private readonly onDrained = new Set<() => void>();

  whenBlocked(): Promise<number> {
    return new Promise((resolve) => (this.blocked ? resolve(this.eventsSent) : this.onBlocked.add(() => resolve(this.eventsSent))));
  }

  whenDrained(): Promise<number> {
    return new Promise((resolve) => (this.blocked ? this.onDrained.add(() => resolve(this.eventsSent)) : resolve(this.eventsSent)));
  }

  /** The socket wants a drain before more is written: `then` runs once it came. */
  waitForDrain(response: ServerResponse, then: () => void): void {
    this.blocked = true;
    SocketWatch.notify(this.onBlocked);
    response.once('drain', () => {
      this.blocked = false;
      SocketWatch.notify(this.onDrained);
      then();
    });
  }

  private static notify(listeners: Set<() => void>): void {
    const each = [...listeners];
    listeners.clear();
    for (const listener of each) listener();
  }
}

export async function createOpenAITestServer(options: { port?: number; host?: string } = {}): Promise<OpenAITestServer> {
  const queue: TestScenario[] = [];
  const requests: RecordedRequest[] = [];
  const waiters = new Map<number, Array<(request: RecordedRequest) => void>>();
  const sockets = new Set<Socket>();
  let fallback = echo;
  let completions = 0;

  const record = (request: RecordedRequest): void => {
    requests.push(request);
    const index = requests.length - 1;
    for (const resolve of waiters.get(index) ?? []) resolve(request);
    waiters.delete(index);
  };

  const play = (scenario: TestScenario, body: any, response: ServerResponse, recorded: SocketWatch, finish: () => void): void => {
    if (scenario.type === 'error') {
      sendError(response, scenario.status, scenario.message ?? `scripted error ${scenario.status}`, scenario.headers);
      return finish();
    }
    const id = `chatcmpl-test${++completions}`;
    const events = streamEvents(scenario, body, id)[Symbol.iterator]();
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    response.flushHeaders();
    /** Writes one event; false when the socket wants a drain first, as a real server would wait for. */
    const writeOne = (event: { data: unknown }): boolean => {
      recorded.eventsSent++;
      let json = event.data instanceof RawData ? event.data.text : JSON.stringify(event.data);
      if (json.includes(EMIT_TIME_PLACEHOLDER)) json = json.replaceAll(EMIT_TIME_PLACEHOLDER, wallClockMs().toFixed(3));
      return response.write(`data: ${json}\n\n`);
    };
    const next = (): void => {
      // A loop, not recursion: thousands of undelayed events must not grow the stack.
      for (;;) {
        if (response.destroyed) return;
        const { value: event, done } = events.next();
        if (done) {
          if (scenario.type === 'cut') {
            // Cut only once what was written has reached the socket, as when a network drops mid-stream.
            response.write(': cut\n\n', () => {
              response.socket?.destroy();
              finish();
            });
            return;
          }
          if (scenario.type === 'stall') return; // silent until the caller hangs up
          response.end('data: [DONE]\n\n');
          return finish();
        }
        if (event.delayMs > 0) {
          setTimeout(() => {
            if (response.destroyed) return;
            if (writeOne(event)) next();
            else recorded.waitForDrain(response, next);
          }, event.delayMs);
          return;
        }
        if (!writeOne(event)) {
          recorded.waitForDrain(response, next);
          return;
        }
      }
    };
    next();
  };

  const handle = (request: IncomingMessage, response: ServerResponse, rawBody: string): void => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (request.method === 'GET' && path === '/v1/models') {
      record(Object.assign(new SocketWatch(), { method: 'GET', path, headers: request.headers, body: null, remotePort: request.socket.remotePort, ended: Promise.resolve('completed' as const) }));
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ object: 'list', data: [{ id: 'test-model', object: 'model', created: 0, owned_by: 'llm-ws' }] }));
      return;
    }
    if (request.method !== 'POST' || path !== '/v1/chat/completions') return sendError(response, 404, `no route ${request.method} ${path}`);
    let body: any;
    try {
      body = JSON.parse(rawBody);
    } catch {
      return sendError(response, 400, 'body is not valid JSON');
    }
    let settle!: (how: 'completed' | 'client_closed') => void;
    const ended = new Promise<'completed' | 'client_closed'>((resolve) => (settle = resolve));
    let finished = false;
    const finish = (): void => {
      finished = true;
      settle('completed');
    };
    response.on('close', () => {
      if (!finished) settle('client_closed');
    });
    const recorded = Object.assign(new SocketWatch(), { method: request.method, path, headers: request.headers, body, remotePort: request.socket.remotePort, ended });
    record(recorded);
    const invalid = validateChatRequest(body);
    if (invalid) {
      sendError(response, 400, invalid);
      return finish();
    }
    if (body.stream !== true) {
      sendError(response, 400, 'this test server only streams: send stream: true');
      return finish();
    }
    play(queue.shift() ?? fallback(recorded), body, response, recorded, finish);
  };

  const server = createServer((request, response) => {
    const parts: Buffer[] = [];
    request.on('data', (part: Buffer) => parts.push(part));
    request.on('end', () => handle(request, response, Buffer.concat(parts).toString('utf8')));
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    baseURL: `http://${options.host ?? '127.0.0.1'}:${port}/v1`,
    port,
    requests,
    enqueue: (...scenarios) => {
      queue.push(...scenarios);
    },
    respondWith: (handler) => {
      fallback = handler;
    },
    request: (index) =>
      new Promise((resolve) => {
        const arrived = requests[index];
        if (arrived) return resolve(arrived);
        waiters.set(index, [...(waiters.get(index) ?? []), resolve]);
      }),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
