/**
 * Redis going away and coming back, with a redis-server of the test's own (killed and started
 * again empty, as a crash without persistence would leave it).
 */
import { DEFAULT_REDIS_PREFIX } from '../../src/store/redis';
import { inspectRedis } from '../utils/redis';
import { useOwnRedisNodes } from '../utils/own-redis-nodes';
import { waitUntilTrue } from '../utils/wait-until';
import { seqsOf, sessionGreeting, userMessage } from '../utils/ws-test-client';

const nodes = useOwnRedisNodes({ leaseMs: 1000 });
const { startNode, connect } = nodes;

describe('redisStore when Redis goes away', () => {
  it('ends the running reply with store_unavailable, refuses new messages while Redis is away, and serves again once it is back', async () => {
    const server = await startNode();
    const client = await connect(server);
    await nodes.startStalledReply(client);

    await nodes.redis.kill();
    // The reply cannot go on without its log: it ends at once, though the model is silent.
    const failed = await client.waitFor('error', (m) => m.data.requestId === 'q1');
    expect(failed.data).toMatchObject({ code: 'store_unavailable', retryable: true });
    expect((await client.waitFor('llm_complete', (m) => m.data.requestId === 'q1')).data.finishReason).toBe('aborted');
    expect(await nodes.upstream.requests[0]?.ended).toBe('client_closed');

    client.send(userMessage('q2', 'anyone?'));
    expect((await client.waitFor('error', (m) => m.data.requestId === 'q2')).data).toMatchObject({
      code: 'store_unavailable',
      retryable: true,
    });
    expect(nodes.upstream.requests).toHaveLength(1);
    expect(server.health().store).toEqual({ kind: 'redis', status: 'unavailable' });
    // Other clients are still greeted; the process is fine.
    await connect(server);

    await nodes.redis.restart();
    await waitUntilTrue(() => server.health().store.status === 'ok', 15_000);
    nodes.upstream.enqueue({ type: 'text', chunks: ['back ', 'again'] });
    client.send(userMessage('q3', 'now?'));
    expect((await client.waitFor('llm_complete', (m) => m.data.requestId === 'q3')).data.fullText).toBe('back again');
  }, 40_000);

  it('writes a session again after Redis restarted empty, so another server can resume it with seqs that go on', async () => {
    const a = await startNode();
    const b = await startNode();
    const client = await connect(a);
    const { sessionId, resumeToken } = sessionGreeting(client);
    nodes.upstream.enqueue({ type: 'text', chunks: ['one'] });
    client.send(userMessage('q1', 'first'));
    await client.waitFor('status', (m) => m.data.requestId === 'q1' && m.data.status === 'idle');
    const lastSeq = Math.max(...seqsOf(client.received));

    await nodes.redis.kill();
    await nodes.redis.restart();
    await waitUntilTrue(() => a.health().store.status === 'ok' && b.health().store.status === 'ok', 15_000);
    // The writer writes its sessions again on reconnect, the log's seq last (after meta and history).
    const inspect = inspectRedis(nodes.redis.url);
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
    nodes.upstream.enqueue({ type: 'text', chunks: ['two'] });
    moved.send(userMessage('q2', 'second'));
    const complete = await moved.waitFor('llm_complete', (m) => m.data.requestId === 'q2');
    expect(complete.data.fullText).toBe('two');
    expect(complete.seq).toBeGreaterThan(lastSeq);
    // The history came back with the session.
    expect(nodes.upstream.requests[1]?.body.messages.map((m: { content: string }) => m.content)).toEqual(
      expect.arrayContaining(['first', 'one', 'second']),
    );
  }, 40_000);
});
