import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openAIHealthCheck } from '../../src/llm/openai-provider';
import { bearerTokenAuthentication } from '../../src/server/auth';
import { silentLogger } from '../../src/server/logger';
import type { WSServerOptions } from '../../src/server/options';
import { WSServer } from '../../src/server/ws-server';
import { startServerFor } from '../utils/test-server';
import { createOpenAITestServer, type OpenAITestServer } from '../../src/testing/node';
import { waitUntilTrue } from '../utils/wait-until';
import { connectTestClient, userMessage } from '../utils/ws-test-client';

let upstream: OpenAITestServer;
let server: WSServer;

async function startServer(options: WSServerOptions = {}): Promise<string> {
  server = await startServerFor(upstream, options);
  return `http://127.0.0.1:${server.port}`;
}

/** Reads until `done` holds (the health check runs in the background), with a bound a busy machine meets. */
const waitFor = async <T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> => {
  let value: T | undefined;
  await waitUntilTrue(async () => done((value = await read())), 15_000);
  return value as T;
};

beforeEach(async () => {
  upstream = await createOpenAITestServer();
});
afterEach(async () => {
  await server?.stop();
  await upstream.close();
});

describe('GET /health', () => {
  it('answers at once with counts, and the cached reachability of the model endpoint', async () => {
    const base = await startServer({
      upstreamHealthCheck: openAIHealthCheck({ baseURL: upstream.baseURL, apiKey: 'k' }),
    });
    const first = await (await fetch(`${base}/health`)).json();
    expect(first).toMatchObject({
      status: 'ok',
      connections: 0,
      sessions: 0,
      repliesRunning: 0,
      transport: 'ws',
      upstream: { reachable: null, checkedAt: null },
    });
    const checked = await waitFor(
      async () => (await (await fetch(`${base}/health`)).json()) as { upstream: { reachable: boolean | null } },
      (body) => body.upstream.reachable !== null,
    );
    expect(checked.upstream.reachable).toBe(true);
    expect(upstream.requests.some((request) => request.path === '/v1/models')).toBe(true);
  });

  it('reports an endpoint that does not answer as unreachable, without waiting for it', async () => {
    const port = upstream.port;
    await upstream.close();
    const base = await startServer({
      upstreamHealthCheck: openAIHealthCheck({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'k' }),
    });
    const body = await waitFor(
      async () => (await (await fetch(`${base}/health`)).json()) as { upstream: { reachable: boolean | null } },
      (value) => value.upstream.reachable !== null,
    );
    expect(body.upstream.reachable).toBe(false);
    upstream = await createOpenAITestServer();
  });
});

describe('GET /metrics', () => {
  it('serves Prometheus text with connections, chunks, errors by code and timing histograms', async () => {
    const base = await startServer();
    upstream.enqueue({ type: 'text', chunks: ['a', 'b', 'c'] });
    const client = await connectTestClient(`${server.url}`);
    client.send(userMessage('q', 'hi'));
    await client.waitFor('llm_complete');
    client.sendRaw('not json');
    await client.waitFor('error');
    const response = await fetch(`${base}/metrics`);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    expect(text).toMatch(/^llm_ws_open_connections 1$/m);
    expect(text).toMatch(/^llm_ws_sessions 1$/m);
    expect(text).toMatch(/^llm_ws_connections_total 1$/m);
    expect(text).toMatch(/^llm_ws_chunks_sent_total 4$/m); // three chunks and the closing empty one
    expect(text).toMatch(/^llm_ws_replies_total\{finish_reason="stop"\} 1$/m);
    expect(text).toMatch(/^llm_ws_errors_total\{code="invalid_json"\} 1$/m);
    expect(text).toMatch(/^llm_ws_upstream_request_duration_seconds_count 1$/m);
    expect(text).toMatch(/^llm_ws_time_to_first_token_seconds_count 1$/m);
    expect(text).not.toMatch(/^process_/m); // process metrics are opt-in (collectDefaultMetrics)
    await client.close();
  });
});

describe('/health and /metrics with an auth token', () => {
  const authenticate = bearerTokenAuthentication('s3cret');
  const withToken = { headers: { authorization: 'Bearer s3cret' } };

  it('by default asks /metrics for the token, and tells /health without it only that the server is up', async () => {
    const base = await startServer({ authenticate });
    const refused = await fetch(`${base}/metrics`);
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toBe('Bearer');
    expect(await refused.text()).not.toMatch(/llm_ws_/);
    expect((await fetch(`${base}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    expect(await (await fetch(`${base}/metrics`, withToken)).text()).toMatch(/^llm_ws_open_connections 0$/m);
    expect(await (await fetch(`${base}/metrics?token=s3cret`)).text()).toMatch(/^llm_ws_open_connections 0$/m);

    // A load balancer's probe needs no token: it gets 200 and the bare status.
    const probe = await fetch(`${base}/health`);
    expect(probe.status).toBe(200);
    expect(await probe.json()).toEqual({ status: 'ok' });
    expect(await (await fetch(`${base}/health`, withToken)).json()).toMatchObject({
      status: 'ok',
      connections: 0,
      store: { kind: 'memory' },
    });
  });

  it('leaves both open with metricsAuth: false', async () => {
    const base = await startServer({ authenticate, metricsAuth: false });
    expect((await fetch(`${base}/metrics`)).status).toBe(200);
    expect(await (await fetch(`${base}/health`)).json()).toMatchObject({ connections: 0 });
  });

  it('refuses metricsAuth: true without authenticate, which would leave nothing to check', () => {
    expect(() => new WSServer({ logger: silentLogger, llm: () => ({}) as never, metricsAuth: true })).toThrow(
      /metricsAuth needs authenticate/,
    );
  });
});

describe('static files', () => {
  it('serves the demo folder at / by exact name only', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'llm-ws-demo-'));
    writeFileSync(join(dir, 'index.html'), '<h1>chat</h1>');
    writeFileSync(join(dir, 'app.js'), 'console.log(1)');
    const base = await startServer({ demoDir: dir });
    const page = await fetch(`${base}/`);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await page.text()).toBe('<h1>chat</h1>');
    expect((await fetch(`${base}/app.js`)).headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect((await fetch(`${base}/../package.json`)).status).toBe(404);
    expect((await fetch(`${base}/%2e%2e/package.json`)).status).toBe(404);
    expect((await fetch(`${base}/nope.js`)).status).toBe(404);
    expect((await fetch(`${base}/`, { method: 'POST' })).status).toBe(405);
  });

  it('says where the WebSocket is when there is no demo page', async () => {
    const base = await startServer();
    expect(await (await fetch(`${base}/`)).text()).toBe('llm-ws server: connect a WebSocket client to /ws\n');
  });

  it('refuses to start with a demo folder that has no index.html', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'llm-ws-demo-'));
    server = new WSServer({
      port: 0,
      hostname: '127.0.0.1',
      logger: silentLogger,
      llm: () => ({}) as never,
      demoDir: dir,
    });
    await expect(server.start()).rejects.toThrow(/no index.html in the demo folder/);
  });
});
