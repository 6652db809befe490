/**
 * openAIProvider's own requests (./openai-direct) against the SDK's: the same request on the
 * wire, the same errors and retries, and the SDK kept where the fast path cannot honour the setup.
 */
import { createServer, type Server, type Socket } from 'node:net';
import OpenAI from 'openai';
import { lastValueFrom, toArray } from 'rxjs';
import { UpstreamError } from '../../src/errors';
import { nodeHttpFetch } from '../../src/llm/node-http-fetch';
import { directTemplate, type UpstreamHttpClient } from '../../src/llm/openai-direct';
import { openAIProvider, type OpenAIProviderOptions } from '../../src/llm/openai-provider';
import type { LLMRequest } from '../../src/llm/types';
import { createOpenAITestServer, type OpenAITestServer, type TestScenario } from '../../src/testing/node';

let upstream: OpenAITestServer;
beforeEach(async () => {
  upstream = await createOpenAITestServer();
});
afterEach(() => upstream.close());

const request: LLMRequest = {
  messages: [
    { role: 'system', content: 'sys' },
    { role: 'user', content: 'hi' },
  ],
  tools: [{ name: 'calculate', description: 'maths', parameters: { type: 'object' } }],
  options: { temperature: 0.5, maxTokens: 20 },
};

/**
 * The provider on its fast path, and the same setup with the SDK making every request (a client
 * of the caller's), both sending with `httpClient`: the SDK's client with `fetch` itself.
 */
function providersVia(httpClient: UpstreamHttpClient, options: OpenAIProviderOptions = {}) {
  const settings = {
    baseURL: upstream.baseURL,
    apiKey: 'test-key',
    model: 'test-model',
    maxRetries: 0,
    httpClient,
    ...options,
  };
  const client = new OpenAI({
    apiKey: settings.apiKey,
    baseURL: settings.baseURL,
    maxRetries: settings.maxRetries,
    timeout: settings.timeoutMs,
    fetch: httpClient === 'fetch' ? fetch : nodeHttpFetch,
  });
  const fetched = jest.spyOn(client, 'fetch' as never);
  return {
    direct: openAIProvider(settings),
    sdk: openAIProvider({ ...settings, client }),
    /** How many requests the caller's client made. */
    sdkRequests: () => fetched.mock.calls.length,
  };
}

const outcome = async (provider: ReturnType<typeof openAIProvider>): Promise<unknown> =>
  lastValueFrom(provider(request).pipe(toArray())).catch((error: unknown) => {
    if (!(error instanceof UpstreamError)) throw error;
    const { code, message, retryable, status, retryAfterMs } = error;
    return { code, message, retryable, status, retryAfterMs };
  });

const HTTP_CLIENTS: readonly UpstreamHttpClient[] = ['node:http', 'fetch'];

describe('how the provider sends by default', () => {
  const versions = process.versions;
  afterEach(() => Object.defineProperty(process, 'versions', { value: versions, configurable: true }));
  const templateUnder = async (bun: string | undefined) => {
    Object.defineProperty(process, 'versions', { value: { ...versions, bun }, configurable: true });
    return directTemplate(new OpenAI({ apiKey: 'k', baseURL: upstream.baseURL }), 1000);
  };

  it('uses fetch under Bun (its node:http is JavaScript over its fetch), node:http under Node', async () => {
    expect((await templateUnder('1.4.5'))?.httpClient).toBe('fetch');
    expect((await templateUnder(undefined))?.httpClient).toBe('node:http');
  });
});

describe.each(HTTP_CLIENTS)('openAIProvider without the SDK per request, sending with %s', (httpClient) => {
  const providers = (options: OpenAIProviderOptions = {}) => providersVia(httpClient, options);

  it('sends the very request the SDK sends: URL, headers (auth, organization, project, user agent) and body', async () => {
    const saved = { ...process.env };
    Object.assign(process.env, { OPENAI_ORG_ID: 'org-1', OPENAI_PROJECT_ID: 'proj-1' });
    try {
      const { direct, sdk, sdkRequests } = providers();
      await lastValueFrom(direct(request));
      await lastValueFrom(sdk(request));
      expect(sdkRequests()).toBe(1);
    } finally {
      process.env = saved;
    }
    const [fast, viaSdk] = upstream.requests;
    expect(fast?.path).toBe(viaSdk?.path);
    expect(fast?.method).toBe('POST');
    expect(fast?.body).toEqual(viaSdk?.body);
    expect(fast?.headers).toEqual(viaSdk?.headers);
    expect(fast?.headers).toMatchObject({
      authorization: 'Bearer test-key',
      'openai-organization': 'org-1',
      'openai-project': 'proj-1',
      'x-stainless-retry-count': '0',
    });
  });

  it.each<[string, TestScenario]>([
    ['401', { type: 'error', status: 401, message: 'bad key' }],
    ['429 with a short Retry-After', { type: 'error', status: 429, message: 'slow', headers: { 'retry-after': '1' } }],
    ['429 with a long Retry-After', { type: 'error', status: 429, message: 'slow', headers: { 'retry-after': '60' } }],
    ['500', { type: 'error', status: 500, message: 'boom' }],
    ['503 without text', { type: 'error', status: 503, message: '' }],
    ['a stream cut mid-way', { type: 'cut', chunks: ['Hel', 'lo'] }],
  ])('fails on %s exactly as the SDK path does', async (_, scenario) => {
    const { direct, sdk } = providers();
    upstream.enqueue(scenario, scenario);
    const fast = await outcome(direct);
    expect(fast).toHaveProperty('code');
    expect(fast).toEqual(await outcome(sdk));
  });

  it('retries as the SDK does, counting attempts in X-Stainless-Retry-Count, and obeys x-should-retry', async () => {
    const { direct, sdk } = providers({ maxRetries: 2 });
    const failure = { type: 'error', status: 500, headers: { 'retry-after-ms': '1' } } as const;
    const refused = { type: 'error', status: 503, headers: { 'x-should-retry': 'false' } } as const;
    for (const provider of [direct, sdk]) {
      upstream.enqueue(failure, failure, { type: 'text', chunks: ['ok'] }, refused);
      expect(await outcome(provider)).toContainEqual({ type: 'text', delta: 'ok' });
      expect(await outcome(provider)).toMatchObject({ code: 'upstream_error', status: 503 });
    }
    const counts = upstream.requests.map((sent) => sent.headers['x-stainless-retry-count']);
    expect(counts).toEqual(['0', '1', '2', '0', '0', '1', '2', '0']);
  });

  it('maps an endpoint that never answers to a timeout, and an unreachable one as the SDK path does', async () => {
    const silent: Server = createServer((socket: Socket) => socket.on('error', () => undefined));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const sockets = new Set<Socket>();
    silent.on('connection', (socket) => sockets.add(socket));
    const { port } = silent.address() as { port: number };
    try {
      const quiet = providers({ baseURL: `http://127.0.0.1:${port}/v1`, timeoutMs: 100 });
      // What the SDK throws in Node (APIConnectionTimeoutError). Not compared with the SDK path
      // here: under Jest the SDK does not recognise Node's abort DOMException (another realm's
      // Error) and reports a connection error instead.
      expect(await outcome(quiet.direct)).toEqual({
        code: 'upstream_timeout',
        message: 'the model endpoint did not answer in time',
        retryable: true,
        status: undefined,
        retryAfterMs: undefined,
      });
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
    const gone = providers({ baseURL: `http://127.0.0.1:${port}/v1` });
    const refused = await outcome(gone.direct);
    expect(refused).toMatchObject({ code: 'upstream_error', retryable: true });
    expect(refused).toEqual(await outcome(gone.sdk));
  });

  it('leaves every request to the SDK with a client of the caller’s', async () => {
    const { sdk, sdkRequests } = providers();
    upstream.enqueue({ type: 'text', chunks: ['a'] }, { type: 'text', chunks: ['b'] });
    await lastValueFrom(sdk(request));
    await lastValueFrom(sdk(request));
    expect(sdkRequests()).toBe(2);
  });

  it('has no template, so the SDK makes the requests, when the SDK logs each request', async () => {
    const logger = { debug: jest.fn(), info: jest.fn(), warn: jest.fn(), error: jest.fn() };
    const client = (logLevel: 'info' | 'debug' | 'warn') =>
      new OpenAI({ apiKey: 'k', baseURL: upstream.baseURL, logLevel, logger });
    await expect(directTemplate(client('info'), 1000)).resolves.toBeUndefined();
    await expect(directTemplate(client('debug'), 1000)).resolves.toBeUndefined();
    await expect(directTemplate(client('warn'), 1000)).resolves.toBeDefined();
  });
});
