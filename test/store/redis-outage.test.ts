/**
 * Redis going away and coming back, with a redis-server of the test's own (killed and started
 * again empty, as a crash without persistence would leave it).
 */
import type { WSServer } from '../../src/server/ws-server';
import { DEFAULT_REDIS_PREFIX, redisStore } from '../../src/store/redis';
import { createOpenAITestServer, type OpenAITestServer } from '../../src/testing/node';
import { inspectRedis } from '../utils/redis';
import { type OwnRedis, startOwnRedis } from '../utils/redis-server';
import { startServerFor } from '../utils/test-server';
import { waitUntilTrue } from '../utils/wait-until';
import { connectTestClient, seqsOf, type TestClient, userMessage } from '../utils/ws-test-client';

let upstream: OpenAITestServer;
let redis: OwnRedis;
let servers: WSServer[] = [];
let clients: TestClient[] = [];

beforeEach(async () => {
  upstream = await createOpenAITestServer();
  redis = await startOwnRedis();
});
afterEach(async () => {
  await Promise.all(clients.map((client) => client.close()));
  clients = [];
  await Promise.all(servers.map((server) => server.stop()));
  servers = [];
  await upstream.close();
  await redis.kill();
});

async function startNode(): Promise<WSServer> {
  const server = await startServerFor(upstream, { store: redisStore({ url: redis.url, leaseMs: 1000 }) });
  servers.push(server);
  return server;
}

async function connect(server: WSServer): Promise<TestClient> {
  const client = await connectTestClient(server.url as string);
  clients.push(client);
  await client.waitFor('session');
  return client;
}

describe('redisStore when Redis goes away', () => {
  it('ends the running reply with store_unavailable, refuses new messages while Redis is away, and serves again once it is back', async () => {
    const server = await startNode();
    const client = await connect(server);
    upstream.enqueue({ type: 'stall', chunks: ['started '] });
    client.send(userMessage('q1', 'long story'));
    await client.waitFor('llm_chunk', (m) => m.data.chunk === 'started ');

    await redis.kill();
    // The reply cannot go on without its log: it ends at once, though the model is silent.
    const failed = await client.waitFor('error', (m) => m.data.requestId === 'q1');
    expect(failed.data).toMatchObject({ code: 'store_unavailable', retryable: true });
    expect((await client.waitFor('llm_complete', (m) => m.data.requestId === 'q1')).data.finishReason).toBe('aborted');
    expect(await upstream.requests[0]?.ended).toBe('client_closed');

    client.send(userMessage('q2', 'anyone?'));
    expect((await client.waitFor('error', (m) => m.data.requestId === 'q2')).data).toMatchObject({
      code: 'store_unavailable',
      retryable: true,
    });
    expect(upstream.requests).toHaveLength(1);
    expect(server.health().store).toEqual({ kind: 'redis', status: 'unavailable' });
    // Other clients are still greeted; the process is fine.
    await connect(server);

    await redis.restart();
    await waitUntilTrue(() => server.health().store.status === 'ok', 15_000);
    upstream.enqueue({ type: 'text', chunks: ['back ', 'again'] });
    client.send(userMessage('q3', 'now?'));
    expect((await client.waitFor('llm_complete', (m) => m.data.requestId === 'q3')).data.fullText).toBe('back again');
  }, 40_000);

  it('writes a session again after Redis restarted empty, so another server can resume it with seqs that go on', async () => {
    const a = await startNode();
    const b = await startNode();
    const client = await connect(a);
    const { sessionId, resumeToken } = (client.received[0] as { data: { sessionId: string; resumeToken: string } })
      .data;
    upstream.enqueue({ type: 'text', chunks: ['one'] });
    client.send(userMessage('q1', 'first'));
    await client.waitFor('status', (m) => m.data.requestId === 'q1' && m.data.status === 'idle');
    const lastSeq = Math.max(...seqsOf(client.received));

    await redis.kill();
    await redis.restart();
    await waitUntilTrue(() => a.health().store.status === 'ok' && b.health().store.status === 'ok', 15_000);
    // The writer writes its sessions again on reconnect, the log's seq last (after meta and history).
    const inspect = inspectRedis(redis.url);
    try {
      await waitUntilTrue(
        async () => (await inspect.exists(`${DEFAULT_REDIS_PREFIX}{${sessionId}}:log`)) === 1,
        15_000,
      );
    } finally {
      await inspect.quit();
    }

    const moved = await connect(b);
    moved.send({ type: 'resume', id: 'r1', data: { sessionId, resumeToken, lastSeq } });
    await moved.waitFor('session', (m) => m.data.resumed === true);
    await waitUntilTrue(() => b.getActiveSessions().some((s) => s.sessionId === sessionId && s.status === 'idle'));
    upstream.enqueue({ type: 'text', chunks: ['two'] });
    moved.send(userMessage('q2', 'second'));
    const complete = await moved.waitFor('llm_complete', (m) => m.data.requestId === 'q2');
    expect(complete.data.fullText).toBe('two');
    expect(complete.seq).toBeGreaterThan(lastSeq);
    // The history came back with the session.
    expect(upstream.requests[1]?.body.messages.map((m: { content: string }) => m.content)).toEqual(
      expect.arrayContaining(['first', 'one', 'second']),
    );
  }, 40_000);
});
