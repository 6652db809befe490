/**
 * A connection on a follower (the process that does not write its session) is served: its
 * questions and messages reach the writer and their answers come back to it alone, while the
 * writer's own connection stays (issue 23, points 6 and 7); and a frame sent while the writer is
 * dead, its lease not yet run out, is answered once the follower has taken the session over
 * (point 10). Two WSServers on the real Redis.
 */
import type { ServerMessage } from '../../src/protocol/codecs';
import type { WSServer } from '../../src/server/ws-server';
import { redisStore } from '../../src/store/redis';
import { createOpenAITestServer, type OpenAITestServer } from '../../src/testing/node';
import { defineTool } from '../../src/tools/types';
import { isolatedRedisKeys, TEST_REDIS_URL } from '../utils/redis';
import { createTcpProxy, type TcpProxy } from '../utils/tcp-proxy';
import { startServerFor } from '../utils/test-server';
import { connectTestClient, control, type TestClient, userMessage } from '../utils/ws-test-client';

let upstream: OpenAITestServer;
const keys = isolatedRedisKeys();
let servers: WSServer[] = [];
let clients: TestClient[] = [];
let redisProxy: TcpProxy | undefined;

/** What a question of the follower's connection must be answered within. */
const ANSWER_WITHIN_MS = 1000;

async function startNode(redisUrl = TEST_REDIS_URL): Promise<WSServer> {
  const server = await startServerFor(upstream, {
    store: redisStore({ url: redisUrl, prefix: keys.prefix, leaseMs: 1000 }),
    builtinTools: false,
    tools: [
      defineTool({
        name: 'send_mail',
        description: 'Sends an e-mail',
        parameters: { type: 'object', properties: { to: { type: 'string' } } },
        needsApproval: true,
        execute: () => 'sent',
      }),
    ],
  });
  servers.push(server);
  return server;
}

async function connect(server: WSServer): Promise<TestClient> {
  const client = await connectTestClient(server.url as string);
  clients.push(client);
  await client.waitFor('session');
  return client;
}

const requestIdOf = (message: ServerMessage): string | undefined => (message.data as { requestId?: string }).requestId;

beforeEach(async () => {
  upstream = await createOpenAITestServer();
});
afterEach(async () => {
  await Promise.all(clients.map((client) => client.close()));
  clients = [];
  await Promise.all(servers.map((server) => server.stop()));
  servers = [];
  await redisProxy?.close();
  redisProxy = undefined;
  await upstream.close();
});

describe('redisStore: a connection on the follower', () => {
  it("is answered within a second while the writer's connection stays, and its answers reach it alone", async () => {
    const a = await startNode();
    const b = await startNode();
    const first = await connect(a);
    const { sessionId, resumeToken } = (await first.waitFor('session')).data;
    upstream.enqueue({ type: 'text', chunks: ['hello'] });
    first.send(userMessage('q1', 'hi'));
    await first.waitFor('llm_complete', (m) => m.data.requestId === 'q1');

    const second = await connect(b);
    second.send({ type: 'resume', id: 'r1', data: { sessionId, resumeToken, lastSeq: 0, share: true } });
    await second.waitFor('session', (m) => m.data.resumed === true);

    second.send(control('s1', 'get_status'));
    const status = await second.waitFor('status', (m) => m.data.requestId === 's1', ANSWER_WITHIN_MS);
    expect(status).toMatchObject({ data: { status: 'idle' } });
    second.send(control('h1', 'get_history'));
    const history = await second.waitFor('history', (m) => m.data.requestId === 'h1', ANSWER_WITHIN_MS);
    expect(history.data.messages.map((m) => m.content)).toEqual(['hi', 'hello']);
    // A bogus answer is refused to the tab that sent it, not put into the shared stream.
    second.send({ type: 'tool_approval', id: 'a1', data: { toolCallId: 'call_nope', approved: true } });
    const refusal = await second.waitFor('error', (m) => m.data.requestId === 'a1', ANSWER_WITHIN_MS);
    expect(refusal.data.code).toBe('unknown_tool_call');
    for (const answer of [status, history, refusal]) expect(answer.seq).toBeUndefined();

    // A message from the follower's tab starts the reply where the session is written; both tabs get it.
    upstream.enqueue({ type: 'text', chunks: ['again'] });
    second.send(userMessage('q2', 'once more'));
    expect((await second.waitFor('llm_complete', (m) => m.data.requestId === 'q2')).data.fullText).toBe('again');
    expect((await first.waitFor('llm_complete', (m) => m.data.requestId === 'q2')).seq).toBeDefined();
    expect(upstream.requests).toHaveLength(2);

    // The writer's tab is still there, and saw none of the other tab's answers.
    expect(first.received.map(requestIdOf)).not.toEqual(expect.arrayContaining(['s1']));
    for (const id of ['s1', 'h1', 'a1']) expect(first.received.map(requestIdOf)).not.toContain(id);
    expect(first.received.some((m) => m.type === 'error')).toBe(false);
  });

  it('answers an approval sent while the writer is dead (its lease not yet run out), once it has taken over', async () => {
    // The writer reaches Redis through a proxy: cutting it is the writer dying, as the others see it.
    redisProxy = await createTcpProxy(Number(new URL(TEST_REDIS_URL).port || 6379));
    const a = await startNode(`redis://127.0.0.1:${redisProxy.port}`);
    const b = await startNode();
    const first = await connect(a);
    const { sessionId, resumeToken } = (await first.waitFor('session')).data;
    upstream.enqueue({
      type: 'tool_calls',
      calls: [{ id: 'call_mail', name: 'send_mail', arguments: { to: 'boss' } }],
    });
    first.send(userMessage('q1', 'mail the boss'));
    await first.waitFor('tool_call', (m) => m.data.status === 'approval_required');

    const second = await connect(b);
    second.send({ type: 'resume', id: 'r1', data: { sessionId, resumeToken, lastSeq: 0 } });
    await second.waitFor('session', (m) => m.data.resumed === true);
    await second.waitFor('tool_call', (m) => m.data.status === 'approval_required');

    await redisProxy.close();
    second.send({ type: 'tool_approval', id: 'a1', data: { toolCallId: 'call_mail', approved: true } });
    // The takeover ends the reply the dead writer ran; the approval held meanwhile is answered.
    const interrupted = await second.waitFor('error', (m) => m.data.requestId === 'q1', 5000);
    expect(interrupted.data).toMatchObject({ code: 'reply_interrupted', retryable: true });
    const answer = await second.waitFor('error', (m) => m.data.requestId === 'a1', 5000);
    expect(answer.data).toMatchObject({ code: 'unknown_tool_call', retryable: false });
    expect(answer.seq).toBeUndefined();
    // The session goes on here.
    upstream.enqueue({ type: 'text', chunks: ['sorry'] });
    second.send(userMessage('q2', 'try again'));
    expect((await second.waitFor('llm_complete', (m) => m.data.requestId === 'q2')).data.fullText).toBe('sorry');
  });
});
