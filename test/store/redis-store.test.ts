/**
 * Two WSServer instances in one process sharing the real Redis on this machine: what a client
 * moved between them relies on. Every test has its own key prefix, deleted afterwards.
 */
import { filter, firstValueFrom } from 'rxjs';
import { WSClient } from '../../src/client/node';
import type { ServerMessage } from '../../src/protocol/codecs';
import type { WSServer } from '../../src/server/ws-server';
import { redisStore } from '../../src/store/redis';
import { createOpenAITestServer, type OpenAITestServer } from '../../src/testing/node';
import { isolatedRedisKeys, keysUnder, TEST_REDIS_URL } from '../utils/redis';
import { createTcpProxy, type TcpProxy } from '../utils/tcp-proxy';
import { startServerFor } from '../utils/test-server';
import { connectTestClient, control, seqsOf, type TestClient, userMessage } from '../utils/ws-test-client';
import { waitUntilTrue } from '../utils/wait-until';

let upstream: OpenAITestServer;
const keys = isolatedRedisKeys();
let servers: WSServer[] = [];
let proxy: TcpProxy | undefined;
let clients: Array<{ close(): unknown }> = [];

const numbered = (count: number): string[] => Array.from({ length: count }, (_, i) => `c${i} `);

/** A server on the shared store; `leaseMs` short so a dead writer is noticed quickly. */
async function startNode(leaseMs = 1000): Promise<WSServer> {
  const server = await startServerFor(upstream, {
    store: redisStore({ url: TEST_REDIS_URL, prefix: keys.prefix, leaseMs }),
  });
  servers.push(server);
  return server;
}

async function testClient(server: WSServer): Promise<TestClient> {
  const client = await connectTestClient(server.url as string);
  clients.push(client);
  return client;
}

/** A WSClient that reaches `server` through a proxy the test can point elsewhere (the load balancer). */
async function clientThroughProxy(server: WSServer): Promise<WSClient> {
  proxy = await createTcpProxy(server.port as number);
  const client = new WSClient({
    url: `ws://127.0.0.1:${proxy.port}/ws`,
    reconnectDelay: 20,
    maxReconnectDelay: 100,
    reconnectAttempts: 50,
  });
  clients.push({ close: () => client.disconnect() });
  await client.connect();
  return client;
}

const chunkTexts = (messages: readonly ServerMessage[], requestId: string): string[] =>
  messages.flatMap((m) =>
    m.type === 'llm_chunk' && m.data.requestId === requestId && m.data.chunk ? [m.data.chunk] : [],
  );

beforeEach(async () => {
  upstream = await createOpenAITestServer();
});
afterEach(async () => {
  await Promise.all(clients.map((client) => client.close()));
  clients = [];
  await proxy?.close();
  proxy = undefined;
  await Promise.all(servers.map((server) => server.stop()));
  servers = [];
  await upstream.close();
});

describe('redisStore: two servers, one Redis', () => {
  it('moves a client to the other server mid-reply: every chunk once, one upstream request, history intact after the first stops', async () => {
    const a = await startNode();
    const b = await startNode();
    const chunks = numbered(200);
    upstream.enqueue({ type: 'text', chunks, delayMs: 4 });
    const client = await clientThroughProxy(a);
    const received: string[] = [];
    client.chunks$.subscribe(({ chunk }) => chunk && received.push(chunk));
    const reply = client.sendMessage('count to 200');
    await firstValueFrom(client.chunks$.pipe(filter(({ chunk }) => chunk === 'c40 ')));
    // The load balancer sends the reconnect to the other server; the first one goes on generating.
    proxy?.retarget(b.port as number);
    proxy?.cutAll();
    expect((await reply).fullText).toBe(chunks.join(''));
    expect(received).toEqual(chunks);
    expect(upstream.requests).toHaveLength(1);
    expect(b.getActiveSessions()).toEqual([expect.objectContaining({ sessionId: client.sessionId, connected: true })]);

    // The first server goes away; the second answers with the whole conversation.
    await a.stop();
    upstream.enqueue({ type: 'text', chunks: ['second ', 'answer'] });
    expect((await client.sendMessage('and now?')).fullText).toBe('second answer');
    expect(upstream.requests[1]?.body.messages.slice(-3)).toEqual([
      { role: 'user', content: 'count to 200' },
      { role: 'assistant', content: chunks.join('') },
      { role: 'user', content: 'and now?' },
    ]);
  });

  it('replays what a client missed and follows the rest, with seqs in order and an abort that reaches the writer', async () => {
    const a = await startNode();
    const b = await startNode();
    const first = await testClient(a);
    const { sessionId, resumeToken } = (await first.waitFor('session')).data;
    upstream.enqueue({ type: 'text', chunks: ['one ', 'two ', 'three ', ...numbered(200)], delayMs: 20 });
    first.send(userMessage('q1', 'go'));
    await first.waitFor('llm_chunk', (m) => m.data.chunk === 'three ');
    const seenSeq = first.received.filter((m) => m.type === 'llm_chunk' && m.data.chunk === 'one ')[0]?.seq as number;

    const second = await testClient(b);
    await second.waitFor('session');
    second.send({ type: 'resume', id: 'r1', data: { sessionId, resumeToken, lastSeq: seenSeq } });
    const resumed = await second.waitFor('session', (m) => m.data.resumed === true);
    expect(resumed.data).toMatchObject({ sessionId, requestId: 'r1' });
    expect(chunkTexts(second.received, 'q1').slice(0, 2)).toEqual(['two ', 'three ']);
    // Live: chunks `a` generates now reach the client on `b` through the log.
    await second.waitFor('llm_chunk', (m) => m.data.chunk === 'c5 ');
    expect(a.getActiveSessions()).toEqual([
      expect.objectContaining({ sessionId, status: 'streaming', connected: false }),
    ]);
    // The writer closed the first connection: the session was taken over.
    expect((await first.closed).code).toBe(4409);

    // The model request runs on `a`; the abort sent to `b` must reach it and cancel it for real.
    second.send(control('x1', 'abort'));
    const complete = await second.waitFor('llm_complete', (m) => m.data.requestId === 'q1');
    expect(complete.data).toMatchObject({
      finishReason: 'aborted',
      fullText: chunkTexts(second.received, 'q1').join('').replace(/^two /, 'one two '),
    });
    expect(await upstream.requests[0]?.ended).toBe('client_closed');
    const seqs = seqsOf(second.received);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => seenSeq + 1 + i));

    // Once `a` let go, `b` writes the session: a new message is answered there.
    await waitUntilTrue(() => b.getActiveSessions()[0]?.status === 'idle');
    upstream.enqueue({ type: 'text', chunks: ['fine'] });
    second.send(userMessage('q2', 'again'));
    expect((await second.waitFor('llm_complete', (m) => m.data.requestId === 'q2')).data.fullText).toBe('fine');
    expect(a.getActiveSessions()).toEqual([]);
  });

  it('resumes on the same following server from before it began following, from the log in Redis', async () => {
    const a = await startNode();
    const b = await startNode();
    const first = await testClient(a);
    const { sessionId, resumeToken } = (await first.waitFor('session')).data;
    upstream.enqueue({ type: 'text', chunks: numbered(100), delayMs: 20 });
    first.send(userMessage('q1', 'go'));
    await first.waitFor('llm_chunk', (m) => m.data.chunk === 'c3 ');
    const second = await testClient(b);
    await second.waitFor('session');
    second.send({ type: 'resume', id: 'r1', data: { sessionId, resumeToken, lastSeq: 0 } });
    await second.waitFor('llm_chunk', (m) => m.data.chunk === 'c10 ');
    // The client lost everything (lastSeq 0) and comes back to the same server, which follows.
    const third = await testClient(b);
    await third.waitFor('session');
    third.send({ type: 'resume', id: 'r2', data: { sessionId, resumeToken, lastSeq: 0 } });
    await third.waitFor('session', (m) => m.data.resumed === true);
    expect((await second.closed).code).toBe(4409);
    await third.waitFor('llm_complete', (m) => m.data.requestId === 'q1', 10_000);
    expect(chunkTexts(third.received, 'q1')).toEqual(numbered(100));
    const seqs = seqsOf(third.received);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
  });

  it('resumes on a follower that became the writer from before it did: the frames it followed, then its own', async () => {
    const a = await startNode();
    const b = await startNode();
    const first = await testClient(a);
    const { sessionId, resumeToken } = (await first.waitFor('session')).data;
    upstream.enqueue({ type: 'text', chunks: ['one ', 'two ', ...numbered(20)], delayMs: 20 });
    first.send(userMessage('q1', 'go'));
    await first.waitFor('llm_chunk', (m) => m.data.chunk === 'two ');
    const second = await testClient(b);
    await second.waitFor('session');
    second.send({ type: 'resume', id: 'r1', data: { sessionId, resumeToken, lastSeq: 0 } });
    await second.waitFor('llm_complete', (m) => m.data.requestId === 'q1');
    // `a` lets go once its reply ended; `b` writes the session from then on and answers q2 itself.
    await waitUntilTrue(() => a.getActiveSessions().length === 0);
    upstream.enqueue({ type: 'text', chunks: ['fine'] });
    second.send(userMessage('q2', 'again'));
    await second.waitFor('llm_complete', (m) => m.data.requestId === 'q2');

    // From a frame `b` got by following `a` (well after its first replay from the log).
    const seenSeq = second.received.filter((m) => m.type === 'llm_chunk' && m.data.chunk === 'c15 ')[0]?.seq as number;
    const third = await testClient(b);
    await third.waitFor('session');
    third.send({ type: 'resume', id: 'r2', data: { sessionId, resumeToken, lastSeq: seenSeq } });
    await third.waitFor('session', (m) => m.data.resumed === true);
    await third.waitFor('llm_complete', (m) => m.data.requestId === 'q2');
    expect(chunkTexts(third.received, 'q1')).toEqual(numbered(20).slice(16));
    expect(chunkTexts(third.received, 'q2')).toEqual(['fine']);
    const seqs = seqsOf(third.received);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => seenSeq + 1 + i));
    expect(seqs[seqs.length - 1]).toBe(seqsOf(second.received).at(-1));
  });

  it('fails the reply of a server that went away mid-reply, so the client waiting on the other one is not left hanging', async () => {
    const a = await startNode();
    const b = await startNode();
    const first = await testClient(a);
    const { sessionId, resumeToken } = (await first.waitFor('session')).data;
    upstream.enqueue({ type: 'stall', chunks: ['partial '] });
    first.send(userMessage('q1', 'tell me'));
    await first.waitFor('llm_chunk', (m) => m.data.chunk === 'partial ');
    const second = await testClient(b);
    await second.waitFor('session');
    second.send({ type: 'resume', id: 'r1', data: { sessionId, resumeToken, lastSeq: 0 } });
    await second.waitFor('session', (m) => m.data.resumed === true);
    expect(chunkTexts(second.received, 'q1')).toEqual(['partial ']);

    await a.stop(); // cuts the reply it was generating
    const error = await second.waitFor('error', (m) => m.data.requestId === 'q1');
    expect(error.data).toMatchObject({ code: 'reply_interrupted', retryable: true });
    await second.waitFor('status', (m) => m.data.requestId === 'q1' && m.data.status === 'idle');
    // The conversation goes on, with the user's message kept.
    upstream.enqueue({ type: 'text', chunks: ['retry ok'] });
    second.send(userMessage('q2', 'tell me again'));
    expect((await second.waitFor('llm_complete', (m) => m.data.requestId === 'q2')).data.fullText).toBe('retry ok');
    expect(upstream.requests[1]?.body.messages.map((m: { content: string }) => m.content)).toEqual(
      expect.arrayContaining(['tell me', 'tell me again']),
    );
  });

  it('sends to a client on the other server, to a session nobody holds (delivered on resume), and broadcasts to all', async () => {
    const a = await startNode();
    const b = await startNode();
    const onA = await testClient(a);
    const onB = await testClient(b);
    const sessionA = (await onA.waitFor('session')).data.sessionId;
    const sessionB = (await onB.waitFor('session')).data.sessionId;
    expect(await b.sendToClient(sessionA, { type: 'notification', data: { event: 'to-a' } })).toBe(true);
    expect((await onA.waitFor('notification')).data).toEqual({ event: 'to-a' });
    expect(await b.sendToClient('no-such-session', { type: 'notification', data: { event: 'x' } })).toBe(false);

    expect(await a.broadcast({ type: 'notification', data: { event: 'all' } }, sessionA)).toBe(0);
    expect((await onB.waitFor('notification', (m) => m.data.event === 'all')).data).toEqual({ event: 'all' });
    // A message that crosses the same bus after the broadcast: had A taken its own broadcast, it would come first.
    expect(await b.sendToClient(sessionA, { type: 'notification', data: { event: 'after' } })).toBe(true);
    await onA.waitFor('notification', (m) => m.data.event === 'after');
    expect(onA.received.filter((m) => m.type === 'notification').map((m) => m.data)).toEqual([
      { event: 'to-a' },
      { event: 'after' },
    ]);

    // The client of B leaves; a message sent meanwhile waits in the log for its resume (on A).
    const { resumeToken } = (await onB.waitFor('session')).data;
    const lastSeq = Math.max(...seqsOf(onB.received));
    await onB.close();
    await waitUntilTrue(() => b.getActiveSessions().length === 0);
    expect(await a.sendToClient(sessionB, { type: 'notification', data: { event: 'while-away' } })).toBe(true);
    const back = await testClient(a);
    await back.waitFor('session');
    back.send({ type: 'resume', id: 'r1', data: { sessionId: sessionB, resumeToken, lastSeq } });
    await back.waitFor('session', (m) => m.data.resumed === true);
    expect((await back.waitFor('notification')).data).toEqual({ event: 'while-away' });
  });

  it('refuses a wrong token (4403) and an unknown session (session_lost) on any server, and keeps no token in Redis', async () => {
    const a = await startNode();
    const b = await startNode();
    const owner = await testClient(a);
    const { sessionId, resumeToken } = (await owner.waitFor('session')).data;
    upstream.enqueue({ type: 'text', chunks: ['hi'] });
    owner.send(userMessage('q1', 'hello'));
    await owner.waitFor('llm_complete');

    const thief = await testClient(b);
    await thief.waitFor('session');
    thief.send({ type: 'resume', id: 'r1', data: { sessionId, resumeToken: 'x'.repeat(43), lastSeq: 0 } });
    expect((await thief.closed).code).toBe(4403);

    const lost = await testClient(b);
    await lost.waitFor('session');
    lost.send({
      type: 'resume',
      id: 'r2',
      data: { sessionId: '00000000-0000-0000-0000-000000000000', resumeToken, lastSeq: 0 },
    });
    expect((await lost.waitFor('error', (m) => m.data.requestId === 'r2')).data.code).toBe('session_lost');

    const stored = await keys.redis.hgetall(`${keys.prefix}{${sessionId}}:meta`);
    expect(stored.token).toBeDefined();
    expect(
      JSON.stringify(await Promise.all((await keysUnder(keys.redis, keys.prefix)).map((key) => keys.redis.dump(key)))),
    ).not.toContain(resumeToken);
    expect(owner.received.at(-1)?.type).toBe('status');
  });

  it("trims the shared log by the client's acknowledgements, and numbering goes on from where it was on another server", async () => {
    const a = await startNode();
    const b = await startNode();
    const client = await testClient(a);
    const { sessionId, resumeToken } = (await client.waitFor('session')).data;
    upstream.enqueue({ type: 'text', chunks: numbered(30) });
    client.send(userMessage('q1', 'thirty'));
    await client.waitFor('status', (m) => m.data.requestId === 'q1' && m.data.status === 'idle');
    const lastSeq = Math.max(...seqsOf(client.received));
    const log = `${keys.prefix}{${sessionId}}:log`;
    // Writes to Redis are not awaited on the way to the client: the log catches up just after.
    await waitUntilTrue(async () => (await keys.redis.xlen(log)) === lastSeq);
    client.send({ type: 'ping', id: 'p1', data: { lastSeq } });
    await client.waitFor('pong');
    await waitUntilTrue(async () => (await keys.redis.xlen(log)) === 0);
    await client.close();

    const back = await testClient(b);
    await back.waitFor('session');
    back.send({ type: 'resume', id: 'r1', data: { sessionId, resumeToken, lastSeq } });
    expect((await back.waitFor('session', (m) => m.data.resumed === true)).data.lastSeq).toBe(lastSeq);
    upstream.enqueue({ type: 'text', chunks: ['next'] });
    back.send(userMessage('q2', 'more'));
    const firstNew = await back.waitFor('status', (m) => m.data.requestId === 'q2');
    expect(firstNew.seq).toBe(lastSeq + 1);
  });

  it('gives every key a TTL, and deletes the keys of a session that never said anything', async () => {
    const a = await startNode();
    const talker = await testClient(a);
    await talker.waitFor('session');
    upstream.enqueue({ type: 'text', chunks: ['ok'] });
    talker.send(userMessage('q1', 'hello'));
    await talker.waitFor('status', (m) => m.data.status === 'idle');
    const silent = await testClient(a);
    const silentId = (await silent.waitFor('session')).data.sessionId;
    await waitUntilTrue(async () => (await keysUnder(keys.redis, `${keys.prefix}{${silentId}}`)).length > 0);
    await silent.close();
    await waitUntilTrue(async () => (await keysUnder(keys.redis, `${keys.prefix}{${silentId}}`)).length === 0);
    await talker.close();
    await waitUntilTrue(() => a.getActiveSessions().length === 0);
    const stored = await keysUnder(keys.redis, keys.prefix);
    expect(stored.length).toBeGreaterThanOrEqual(4);
    // -1 would be a key without a TTL (a leak); -2 one deleted since the scan.
    for (const key of stored) expect(await keys.redis.pttl(key)).not.toBe(-1);
  });
});
