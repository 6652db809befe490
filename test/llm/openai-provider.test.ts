import OpenAI from 'openai';
import pino from 'pino';
import { filter, firstValueFrom, lastValueFrom, reduce, tap, toArray } from 'rxjs';
import { UpstreamError } from '../../src/errors';
import { nodeHttpFetch } from '../../src/llm/node-http-fetch';
import type { UpstreamHttpClient } from '../../src/llm/openai-direct';
import { openAIProvider } from '../../src/llm/openai-provider';
import type { LLMEvent, LLMRequest } from '../../src/llm/types';
import { accumulateRound, emptyRound } from '../../src/llm/accumulate-round';
import { createOpenAITestServer, type OpenAITestServer } from '../../src/testing/node';

let upstream: OpenAITestServer;
beforeEach(async () => {
  upstream = await createOpenAITestServer();
});
afterEach(() => upstream.close());

const rawProviderVia = (httpClient: UpstreamHttpClient, maxRetries = 0) =>
  openAIProvider({ baseURL: upstream.baseURL, apiKey: 'test-key', model: 'test-model', maxRetries, httpClient });
/** The provider without its `response` event (tested on its own below), so the tables list what the model said. */
const providerVia =
  (httpClient: UpstreamHttpClient, maxRetries = 0) =>
  (req: LLMRequest) =>
    rawProviderVia(httpClient, maxRetries)(req).pipe(filter((event) => event.type !== 'response'));
const request = (overrides: Partial<LLMRequest> = {}): LLMRequest => ({
  messages: [
    { role: 'system', content: 'sys' },
    { role: 'user', content: 'hi' },
  ],
  tools: [],
  options: {},
  ...overrides,
});
const failureOf = async (events: Promise<unknown>): Promise<UpstreamError> => {
  const error = await events.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  if (!(error instanceof UpstreamError)) throw new Error(`expected an UpstreamError, got ${String(error)}`);
  return error;
};

const HTTP_CLIENTS: readonly UpstreamHttpClient[] = ['node:http', 'fetch'];

describe.each(HTTP_CLIENTS)('openAIProvider over HTTP, its requests sent with %s', (httpClient) => {
  const rawProvider = (maxRetries = 0) => rawProviderVia(httpClient, maxRetries);
  const provider = (maxRetries = 0) => providerVia(httpClient, maxRetries);

  it('streams text deltas, the finish reason and usage, asking for usage in the stream', async () => {
    upstream.enqueue({ type: 'text', chunks: ['Hel', 'lo'] });
    const events = await lastValueFrom(provider()(request()).pipe(toArray()));
    expect(events).toEqual<LLMEvent[]>([
      { type: 'text', delta: 'Hel' },
      { type: 'text', delta: 'lo' },
      { type: 'finish', reason: 'stop' },
      { type: 'usage', usage: { promptTokens: 2, completionTokens: 2, totalTokens: 4 } },
    ]);
    const sent = upstream.requests[0];
    expect(sent?.headers.authorization).toBe('Bearer test-key');
    expect(sent?.body).toMatchObject({ model: 'test-model', stream: true, stream_options: { include_usage: true } });
  });

  it('says first which completion and model answered, and describes itself for telemetry', async () => {
    upstream.enqueue({ type: 'text', chunks: ['Hi'], cachedTokens: 1 });
    const model = rawProvider();
    const events = await lastValueFrom(model(request()).pipe(toArray()));
    expect(events[0]).toEqual({ type: 'response', id: expect.stringMatching(/.+/), model: 'test-model' });
    expect(events.filter((event) => event.type === 'response')).toHaveLength(1);
    expect(events.at(-1)).toEqual({
      type: 'usage',
      usage: { promptTokens: 2, completionTokens: 1, totalTokens: 3, cachedTokens: 1 },
    });
    const url = new URL(upstream.baseURL);
    expect(model.info).toEqual({
      providerName: 'openai',
      model: 'test-model',
      serverAddress: url.hostname,
      serverPort: Number(url.port),
    });
  });

  it.each(['reasoning_content', 'reasoning'] as const)(
    'streams %s deltas as reasoning events, apart from the text, and counts reasoning tokens',
    async (field) => {
      upstream.enqueue({ type: 'text', reasoning: ['Think', 'ing'], reasoningField: field, chunks: ['Hi'] });
      const events = await lastValueFrom(provider()(request()).pipe(toArray()));
      expect(events).toEqual<LLMEvent[]>([
        { type: 'reasoning', delta: 'Think' },
        { type: 'reasoning', delta: 'ing' },
        { type: 'text', delta: 'Hi' },
        { type: 'finish', reason: 'stop' },
        { type: 'usage', usage: { promptTokens: 2, completionTokens: 3, totalTokens: 5, reasoningTokens: 2 } },
      ]);
    },
  );

  it('leaves a completed request alone: no abort, its body read to the end, its kept-alive connection reused', async () => {
    upstream.enqueue({ type: 'text', chunks: ['one'] }, { type: 'text', chunks: ['two'] });
    const abort = jest.spyOn(AbortController.prototype, 'abort');
    const read = jest.spyOn(ReadableStreamDefaultReader.prototype, 'read');
    try {
      await lastValueFrom(provider()(request()));
      expect(abort).not.toHaveBeenCalled();
      if (httpClient === 'fetch') {
        // A fetch connection goes back to the pool once its body is read to the end, which the
        // provider goes on doing after [DONE] (cancelling the body would close the connection).
        const last = read.mock.results.at(-1)?.value as Promise<ReadableStreamReadResult<Uint8Array>> | undefined;
        expect((await last)?.done).toBe(true);
      }
    } finally {
      abort.mockRestore();
      read.mockRestore();
    }
    await expect(upstream.requests[0]?.ended).resolves.toBe('completed');
    // Not for fetch: when its pool takes the connection back after the body's end is the runtime's affair.
    if (httpClient === 'fetch') return;
    await lastValueFrom(provider()(request()));
    const [first, second] = upstream.requests;
    expect(first?.remotePort).toBeDefined();
    expect(second?.remotePort).toBe(first?.remotePort);
  });

  it('sends options, tools and a tool round in the API shape', async () => {
    await lastValueFrom(
      provider()(
        request({
          messages: [
            { role: 'user', content: 'sum?' },
            {
              role: 'assistant',
              content: '',
              toolCalls: [{ id: 'c1', name: 'calculate', arguments: '{"expression":"1+1"}' }],
            },
            { role: 'tool', content: '2', toolCallId: 'c1', toolName: 'calculate' },
          ],
          tools: [{ name: 'calculate', description: 'maths', parameters: { type: 'object' } }],
          options: { temperature: 0.5, maxTokens: 20, toolChoice: 'auto' },
        }),
      ),
    );
    expect(upstream.requests[0]?.body).toMatchObject({
      temperature: 0.5,
      max_tokens: 20,
      tool_choice: 'auto',
      tools: [
        { type: 'function', function: { name: 'calculate', description: 'maths', parameters: { type: 'object' } } },
      ],
      messages: [
        { role: 'user', content: 'sum?' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 'c1', type: 'function', function: { name: 'calculate', arguments: '{"expression":"1+1"}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'c1', content: '2' },
      ],
    });
  });

  it('streams tool calls whose arguments arrive in fragments, and they assemble whole', async () => {
    upstream.enqueue({
      type: 'tool_calls',
      fragmentSize: 3,
      calls: [
        { id: 'a', name: 'calculate', arguments: { expression: '2+3*4' } },
        { id: 'b', name: 'get_current_time', arguments: {} },
      ],
    });
    const round = await firstValueFrom(provider()(request()).pipe(reduce(accumulateRound, emptyRound)));
    expect(round.finishReason).toBe('tool_calls');
    expect(round.toolCalls).toEqual([
      { index: 0, id: 'a', name: 'calculate', arguments: '{"expression":"2+3*4"}' },
      { index: 1, id: 'b', name: 'get_current_time', arguments: '{}' },
    ]);
  });

  it.each<[number, string, boolean]>([
    [429, 'rate_limited', true],
    [500, 'upstream_error', true],
    [503, 'upstream_error', true],
    [400, 'upstream_error', false],
    [401, 'upstream_error', false],
    [404, 'upstream_error', false],
  ])('maps HTTP %d to %s (retryable: %s)', async (status, code, retryable) => {
    upstream.enqueue({ type: 'error', status, message: 'scripted failure' });
    const error = await failureOf(lastValueFrom(provider()(request())));
    expect(error).toMatchObject({ code, retryable, status });
    expect(error.message).toContain('scripted failure');
  });

  it('says what the endpoint answered once, without the SDK repeating the status or the text', async () => {
    upstream.enqueue({ type: 'error', status: 500, message: 'scripted failure' });
    const error = await failureOf(lastValueFrom(provider()(request())));
    expect(error.message).toBe('the model endpoint answered 500: scripted failure');
    // pino prints an error's causes after its message: nothing may be said twice there either.
    expect(pino.stdSerializers.err(error).message).toBe('the model endpoint answered 500: scripted failure');
  });

  it('names the status alone when the endpoint gave no text', async () => {
    upstream.enqueue({ type: 'error', status: 502, message: '' });
    const error = await failureOf(lastValueFrom(provider()(request())));
    expect(error.message).toBe('the model endpoint answered 502');
  });

  it('lets the SDK retry a 500 before giving up, as configured', async () => {
    const failure = { type: 'error', status: 500, headers: { 'retry-after-ms': '1' } } as const;
    upstream.enqueue(failure, failure, { type: 'text', chunks: ['ok'] });
    const events = await lastValueFrom(provider(2)(request()).pipe(toArray()));
    expect(events[0]).toEqual({ type: 'text', delta: 'ok' });
    expect(upstream.requests).toHaveLength(3);
  });

  it('gives up at once on a 429 whose Retry-After is longer than maxRetryAfterMs, and passes the wait on', async () => {
    upstream.enqueue(
      { type: 'error', status: 429, message: 'slow down', headers: { 'retry-after': '20' } },
      { type: 'text', chunks: ['ok'] },
    );
    const error = await failureOf(lastValueFrom(provider(2)(request())));
    expect(error).toMatchObject({ code: 'rate_limited', retryable: true, status: 429, retryAfterMs: 20_000 });
    expect(upstream.requests).toHaveLength(1);
  });

  it('lets the SDK wait out a short Retry-After and retry', async () => {
    upstream.enqueue(
      { type: 'error', status: 429, headers: { 'retry-after-ms': '10' } },
      { type: 'text', chunks: ['ok'] },
    );
    const events = await lastValueFrom(provider(2)(request()).pipe(toArray()));
    expect(events[0]).toEqual({ type: 'text', delta: 'ok' });
    expect(upstream.requests).toHaveLength(2);
  });

  it('stops reading at an event larger than the limits allow', async () => {
    upstream.enqueue({ type: 'text', chunks: ['small ', 'x'.repeat(1_200_000)] });
    const seen: LLMEvent[] = [];
    const limits = { maxTextBytes: 10_000, maxToolArgumentsBytes: 10_000 };
    const error = await failureOf(
      lastValueFrom(provider()(request({ limits })).pipe(tap((event) => seen.push(event)))),
    );
    expect(error).toMatchObject({ code: 'reply_too_large', retryable: false });
    expect(seen).toEqual([{ type: 'text', delta: 'small ' }]);
    // 2 x 20,000 bytes of text and arguments, plus 1 MiB for the rest of the event.
    expect(error.message).toBe(
      `the model stream sent one event of more than ${2 * 20_000 + 1024 * 1024} bytes; the reply was stopped`,
    );
  });

  it('fails with a retryable upstream_error when the stream is cut mid-way', async () => {
    upstream.enqueue({ type: 'cut', chunks: ['Hel', 'lo'] });
    const seen: LLMEvent[] = [];
    const error = await failureOf(lastValueFrom(provider()(request()).pipe(tap((event) => seen.push(event)))));
    expect(error).toMatchObject({ code: 'upstream_error', retryable: true });
    expect(seen).toEqual([
      { type: 'text', delta: 'Hel' },
      { type: 'text', delta: 'lo' },
    ]);
  });

  it('fails with a retryable upstream_error when nothing listens at the URL', async () => {
    const port = upstream.port;
    await upstream.close();
    const unreachable = openAIProvider({
      baseURL: `http://127.0.0.1:${port}/v1`,
      apiKey: 'k',
      maxRetries: 0,
      httpClient,
    });
    const error = await failureOf(lastValueFrom(unreachable(request())));
    expect(error).toMatchObject({ code: 'upstream_error', retryable: true });
    upstream = await createOpenAITestServer(); // for afterEach
  });

  it('closes the HTTP request as soon as the subscriber unsubscribes', async () => {
    upstream.enqueue({ type: 'stall', chunks: ['thinking...'] });
    const events: LLMEvent[] = [];
    let first!: () => void;
    const firstEvent = new Promise<void>((resolve) => (first = resolve));
    const subscription = provider()(request()).subscribe((event) => {
      events.push(event);
      first();
    });
    const arrived = await upstream.request(0);
    await firstEvent;
    subscription.unsubscribe();
    await expect(arrived.ended).resolves.toBe('client_closed');
    expect(events).toEqual([{ type: 'text', delta: 'thinking...' }]);
  });

  it('is cold: nothing is requested until subscription, and each subscription requests once', async () => {
    upstream.enqueue({ type: 'text', chunks: ['first'] }, { type: 'text', chunks: ['second'] });
    const events$ = provider()(request());
    // Each subscription is answered by its own request, in order: a request made before them would have taken 'first'.
    expect(await lastValueFrom(events$.pipe(toArray()))).toEqual(
      expect.arrayContaining([{ type: 'text', delta: 'first' }]),
    );
    expect(await lastValueFrom(events$.pipe(toArray()))).toEqual(
      expect.arrayContaining([{ type: 'text', delta: 'second' }]),
    );
    expect(upstream.requests).toHaveLength(2);
  });
});

describe('openAIProvider: huge upstream error bodies', () => {
  const bodyBytes = 128 * 1024 * 1024;
  /** Runs `work` while sampling the memory that holds bodies (heap and Buffers), and returns its peak growth. */
  const peakGrowthDuring = async (work: () => Promise<unknown>): Promise<number> => {
    const memory = (): number => {
      const usage = process.memoryUsage();
      return usage.heapUsed + usage.arrayBuffers;
    };
    const start = memory();
    let peak = start;
    const sampler = setInterval(() => (peak = Math.max(peak, memory())), 2);
    try {
      await work();
    } finally {
      clearInterval(sampler);
    }
    return Math.max(peak, memory()) - start;
  };

  it.each([
    ['the fast request path (node:http)', () => providerVia('node:http', 2)],
    ['the fast request path (fetch)', () => providerVia('fetch', 2)],
    [
      "the SDK's own requests (a client made with nodeHttpFetch)",
      () =>
        openAIProvider({
          client: new OpenAI({ baseURL: upstream.baseURL, apiKey: 'test-key', maxRetries: 2, fetch: nodeHttpFetch }),
          model: 'test-model',
        }),
    ],
  ])('reads at most 64 KiB of each error body on %s, retries included', async (_path, make) => {
    // Three attempts (two retries), each answered by a 500 of 128 MiB.
    for (let i = 0; i < 3; i++)
      upstream.enqueue({ type: 'error', status: 500, message: 'scripted failure', bodyBytes });
    let error: UpstreamError | undefined;
    const growth = await peakGrowthDuring(async () => {
      error = await failureOf(lastValueFrom(make()(request())));
    });
    expect(upstream.requests).toHaveLength(3);
    expect(error?.message).toBe('the model endpoint answered 500: scripted failure');
    // Reading one such body whole would take 128 MiB at least.
    expect(growth).toBeLessThan(32 * 1024 * 1024);
  });
});
