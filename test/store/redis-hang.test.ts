/**
 * A Redis that hangs (SIGSTOP: its connections stay open, nothing is answered) must be noticed
 * within the store's command deadline, like a Redis that went away, and forgotten once it answers
 * again (SIGCONT), without a restart.
 */
import type { WSServer } from '../../src/server/ws-server';
import { useOwnRedisNodes } from '../utils/own-redis-nodes';
import { waitUntilTrue } from '../utils/wait-until';
import { sessionGreeting, userMessage } from '../utils/ws-test-client';

/** Short, so the test is quick; the default is 2 s. */
const COMMAND_TIMEOUT_MS = 400;

const nodes = useOwnRedisNodes({ leaseMs: 1000, commandTimeoutMs: COMMAND_TIMEOUT_MS });
const { startNode, connect } = nodes;

/** `GET /health` over HTTP, as a load balancer asks. */
async function storeStatus(server: WSServer): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${server.port}/health`);
  return ((await response.json()) as { store: { status: string } }).store.status;
}

/** Resolves with `promise`, or rejects naming `what` after `ms` (where the bug would wait forever). */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** A session with one answered message, its client gone: its state is in Redis only. */
async function storedSession(server: WSServer): Promise<{ sessionId: string; resumeToken: string; lastSeq: number }> {
  const first = await connect(server);
  const { sessionId, resumeToken } = sessionGreeting(first);
  nodes.upstream.enqueue({ type: 'text', chunks: ['one'] });
  first.send(userMessage('q1', 'first'));
  const idle = await first.waitFor('status', (m) => m.data.requestId === 'q1' && m.data.status === 'idle');
  await first.close();
  await waitUntilTrue(() => server.getActiveSessions().every((s) => s.sessionId !== sessionId));
  return { sessionId, resumeToken, lastSeq: idle.seq as number };
}

describe('redisStore when Redis hangs', () => {
  it('reports the store down on /health, closes resumes with 1013 and refuses messages, then serves again once Redis answers', async () => {
    const server = await startNode();
    const stored = await storedSession(server);
    const idle = await connect(server);

    nodes.redis.freeze();
    // Nobody sends anything: the store's own probe notices.
    await waitUntilTrue(async () => (await storeStatus(server)) === 'unavailable', 10_000);

    const resumer = await connect(server);
    resumer.send({ type: 'resume', id: 'r1', data: stored });
    expect(await within(resumer.closed, 10_000, 'the resume while Redis hangs')).toMatchObject({ code: 1013 });

    idle.send(userMessage('q2', 'anyone?'));
    expect((await idle.waitFor('error', (m) => m.data.requestId === 'q2')).data).toMatchObject({
      code: 'store_unavailable',
      retryable: true,
    });
    expect(nodes.upstream.requests).toHaveLength(1);

    nodes.redis.thaw();
    await waitUntilTrue(async () => (await storeStatus(server)) === 'ok', 15_000);
    const back = await connect(server);
    back.send({ type: 'resume', id: 'r2', data: stored });
    expect((await back.waitFor('session', (m) => m.data.requestId === 'r2')).data).toMatchObject({
      resumed: true,
      lastSeq: stored.lastSeq,
    });
    nodes.upstream.enqueue({ type: 'text', chunks: ['back'] });
    back.send(userMessage('q3', 'now?'));
    expect((await back.waitFor('llm_complete', (m) => m.data.requestId === 'q3')).data.fullText).toBe('back');
  }, 40_000);

  it('closes a resume with 1013 when Redis stops answering mid-resume, before anything noticed', async () => {
    const server = await startNode();
    const stored = await storedSession(server);
    const resumer = await connect(server);
    nodes.redis.freeze();
    resumer.send({ type: 'resume', id: 'r1', data: stored });
    expect(await within(resumer.closed, 10_000, 'the resume while Redis hangs')).toMatchObject({ code: 1013 });
  }, 20_000);

  it('ends a running reply with store_unavailable and cancels its model request', async () => {
    const server = await startNode();
    const client = await connect(server);
    await nodes.startStalledReply(client);

    nodes.redis.freeze();
    const failed = await client.waitFor('error', (m) => m.data.requestId === 'q1', 10_000);
    expect(failed.data).toMatchObject({ code: 'store_unavailable', retryable: true });
    expect(await nodes.upstream.requests[0]?.ended).toBe('client_closed');
  }, 20_000);

  it('keeps the end of a reply the hang stopped: a resume once Redis is back replays its frames once, under their seqs, not as interrupted', async () => {
    const server = await startNode();
    const client = await connect(server);
    const { sessionId, resumeToken } = sessionGreeting(client);
    const chunk = await nodes.startStalledReply(client);

    nodes.redis.freeze();
    // The reply's end (its error, idle, busy cleared) is written once the connection has failed: none of it reaches Redis then.
    await client.waitFor('error', (m) => m.data.requestId === 'q1', 10_000);
    const idle = await client.waitFor('status', (m) => m.data.requestId === 'q1' && m.data.status === 'idle');
    const sent = client.received.filter((m) => (m.seq ?? 0) > (chunk.seq as number));
    await client.close();
    await waitUntilTrue(() => server.getActiveSessions().every((s) => s.sessionId !== sessionId));

    nodes.redis.thaw();
    await waitUntilTrue(async () => (await storeStatus(server)) === 'ok', 15_000);
    const back = await connect(server);
    // From before the reply's end, as a client that missed it does.
    back.send({ type: 'resume', id: 'r1', data: { sessionId, resumeToken, lastSeq: chunk.seq as number } });
    const resumed = await back.waitFor('session', (m) => m.data.requestId === 'r1');
    expect(resumed.data).toMatchObject({ resumed: true, lastSeq: idle.seq });
    // The replay comes before the answer to the resume.
    const replayed = back.received.filter((m) => m.seq !== undefined);
    expect(replayed).toEqual(sent);
  }, 40_000);

  it('closes a client that follows another process with 1013, so it resumes once Redis is back', async () => {
    const writer = await startNode();
    const follower = await startNode();
    const client = await connect(writer);
    const { sessionId, resumeToken } = sessionGreeting(client);
    const chunk = await nodes.startStalledReply(client);
    await client.close();

    const moved = await connect(follower);
    moved.send({ type: 'resume', id: 'r1', data: { sessionId, resumeToken, lastSeq: chunk.seq as number } });
    await moved.waitFor('session', (m) => m.data.requestId === 'r1');
    nodes.redis.freeze();
    expect(await within(moved.closed, 10_000, 'the follower while Redis hangs')).toMatchObject({ code: 1013 });
  }, 20_000);
});
