/**
 * An OpenAI-compatible HTTP server for tests: it streams real SSE over a real socket, the way
 * the Chat Completions API does, from scripted scenarios. Point the openai SDK (or
 * `llm-ws serve` through OPENAI_BASE_URL) at `baseURL`.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { RawData, streamEvents, type TestScenario, textScenario } from './openai-scenarios';
import { validateChatRequest } from './validate-chat-request';

export {
  type ScriptedReasoning,
  type ScriptedToolCall,
  type TestScenario,
  textScenario,
  wordChunks,
} from './openai-scenarios';

/** In a chunk's text, replaced by the time the chunk is written (see the `text` scenario). */
export const EMIT_TIME_PLACEHOLDER = '{{emitMs}}';

/** Wall-clock time in ms with sub-millisecond precision, comparable across processes on one machine. */
export const wallClockMs = (): number => performance.timeOrigin + performance.now();

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

function lastUserText(body: any): string {
  const messages: any[] = Array.isArray(body?.messages) ? body.messages : [];
  const last = [...messages].reverse().find((message) => message?.role === 'user');
  if (typeof last?.content === 'string') return last.content;
  // Content parts: the text of its text parts.
  return Array.isArray(last?.content)
    ? (last.content as any[]).flatMap((part) => (part?.type === 'text' ? [String(part.text)] : [])).join('')
    : '';
}

const echo = (request: RecordedRequest): TestScenario => textScenario(`You said: ${lastUserText(request.body)}`);

function sendError(
  response: ServerResponse,
  status: number,
  message: string,
  headers: Record<string, string> = {},
): void {
  const type = status === 429 ? 'rate_limit_exceeded' : status >= 500 ? 'server_error' : 'invalid_request_error';
  response.writeHead(status, { 'content-type': 'application/json', ...headers });
  response.end(JSON.stringify({ error: { message, type, param: null, code: null } }));
}

/** An error whose body is `bodyBytes` long: its JSON, then spaces, written as the socket drains. */
function sendHugeError(
  response: ServerResponse,
  status: number,
  message: string,
  bodyBytes: number,
  finish: () => void,
): void {
  const json = Buffer.from(JSON.stringify({ error: { message, type: 'server_error', param: null, code: null } }));
  const padding = Buffer.alloc(64 * 1024, ' ');
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': String(Math.max(bodyBytes, json.length)),
  });
  let left = Math.max(bodyBytes, json.length) - json.length;
  const writeMore = (): void => {
    while (left > 0 && !response.destroyed) {
      const part = left >= padding.length ? padding : padding.subarray(0, left);
      left -= part.length;
      if (!response.write(part)) return void response.once('drain', writeMore);
    }
    if (!response.destroyed) response.end();
  };
  response.once('close', finish);
  response.write(json);
  writeMore();
}

/** How a streamed answer fares on its socket: events written, and whether the server waits for a drain. */
class SocketWatch {
  eventsSent = 0;
  blocked = false;
  private readonly onBlocked = new Set<() => void>();
  private readonly onDrained = new Set<() => void>();

  whenBlocked(): Promise<number> {
    return new Promise((resolve) =>
      this.blocked ? resolve(this.eventsSent) : this.onBlocked.add(() => resolve(this.eventsSent)),
    );
  }

  whenDrained(): Promise<number> {
    return new Promise((resolve) =>
      this.blocked ? this.onDrained.add(() => resolve(this.eventsSent)) : resolve(this.eventsSent),
    );
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

/** Starts a test server on loopback. `port` 0 (the default) picks a free one. */
export async function createOpenAITestServer(
  options: { port?: number; host?: string } = {},
): Promise<OpenAITestServer> {
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

  const play = (
    scenario: TestScenario,
    body: any,
    response: ServerResponse,
    recorded: SocketWatch,
    finish: () => void,
  ): void => {
    if (scenario.type === 'error') {
      const message = scenario.message ?? `scripted error ${scenario.status}`;
      if (scenario.bodyBytes === undefined) {
        sendError(response, scenario.status, message, scenario.headers);
        return finish();
      }
      return sendHugeError(response, scenario.status, message, scenario.bodyBytes, finish);
    }
    const id = `chatcmpl-test${++completions}`;
    const events = streamEvents(scenario, body, id)[Symbol.iterator]();
    response.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
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
      record(
        Object.assign(new SocketWatch(), {
          method: 'GET',
          path,
          headers: request.headers,
          body: null,
          remotePort: request.socket.remotePort,
          ended: Promise.resolve('completed' as const),
        }),
      );
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({
          object: 'list',
          data: [{ id: 'test-model', object: 'model', created: 0, owned_by: 'llm-ws' }],
        }),
      );
      return;
    }
    if (request.method !== 'POST' || path !== '/v1/chat/completions')
      return sendError(response, 404, `no route ${request.method} ${path}`);
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
    const recorded = Object.assign(new SocketWatch(), {
      method: request.method,
      path,
      headers: request.headers,
      body,
      remotePort: request.socket.remotePort,
      ended,
    });
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
