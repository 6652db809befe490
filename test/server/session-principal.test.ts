import type { IncomingMessage } from 'node:http';
import type { SessionStore } from '../../src/core/ports';
import { presentedToken } from '../../src/server/auth';
import type { WSServer } from '../../src/server/ws-server';
import { memoryStore } from '../../src/store/memory-store';
import { redisStore } from '../../src/store/redis';
import { createOpenAITestServer, type OpenAITestServer } from '../../src/testing/node';
import { defineTool } from '../../src/tools/types';
import { isolatedRedisKeys, TEST_REDIS_URL } from '../utils/redis';
import { startServerFor } from '../utils/test-server';
import { connectTestClient, type TestClient, userMessage } from '../utils/ws-test-client';

/**
 * A session belongs to the principal that created it: with `authenticate`, another principal
 * holding its id and resume token can neither join it, take it over, nor answer for it; its
 * tools see its owner. On the memory store and across two processes on the real Redis.
 */
const keys = isolatedRedisKeys();
let upstream: OpenAITestServer;
let servers: WSServer[] = [];
const clients: TestClient[] = [];
/** The principal each run of the tool saw. */
let ranFor: unknown[] = [];

/** A new object per connection, as an authenticate that looks users up returns. */
const authenticate = (request: IncomingMessage): unknown => {
  const token = presentedToken(request);
  if (token === 'alice-token') return { user: 'alice', roles: ['writer'] };
  if (token === 'bob-token') return { roles: ['writer'], user: 'bob' };
  return null;
};

async function startNode(store: () => SessionStore): Promise<WSServer> {
  const server = await startServerFor(upstream, {
    authenticate,
    store: store(),
    builtinTools: false,
    approvalTimeoutMs: 60_000,
    tools: [
      defineTool({
        name: 'send_mail',
        description: 'Sends an e-mail',
        parameters: { type: 'object', properties: { to: { type: 'string' } } },
        needsApproval: true,
        execute: (_args, context) => {
          ranFor.push(context.principal);
          return 'sent';
        },
      }),
    ],
  });
  servers.push(server);
  return server;
}

async function connectAs(server: WSServer, token: string): Promise<TestClient> {
  const client = await connectTestClient(server.url as string, { headers: { authorization: `Bearer ${token}` } });
  clients.push(client);
  await client.waitFor('session');
  return client;
}

beforeEach(async () => {
  upstream = await createOpenAITestServer();
  ranFor = [];
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await Promise.all(servers.map((server) => server.stop()));
  servers = [];
  await upstream.close();
});

const stores: Array<[string, () => SessionStore, boolean]> = [
  ['the memory store', () => memoryStore(), false],
  ['Redis, across two processes', () => redisStore({ url: TEST_REDIS_URL, prefix: keys.prefix, leaseMs: 1000 }), true],
];

describe.each(stores)('a session belongs to its principal, on %s', (_name, store, twoProcesses) => {
  it("refuses another principal's resume (shared or not) with 4403; the owner's reply, approval and tools go on as hers", async () => {
    const a = await startNode(store);
    const b = twoProcesses ? await startNode(store) : a;
    upstream.enqueue(
      { type: 'tool_calls', calls: [{ id: 'call_mail', name: 'send_mail', arguments: { to: 'boss@example.com' } }] },
      { type: 'text', chunks: ['Sent.'] },
    );
    const alice = await connectAs(a, 'alice-token');
    const { sessionId, resumeToken } = (await alice.waitFor('session')).data;
    alice.send(userMessage('m1', 'mail the boss'));
    await alice.waitFor('tool_call', (m) => m.data.status === 'approval_required');

    // Bob holds alice's id and token: on this process and (with Redis) on the other one.
    for (const server of new Set([a, b])) {
      for (const share of [true, false]) {
        const bob = await connectAs(server, 'bob-token');
        bob.send({ type: 'resume', id: 'r1', data: { sessionId, resumeToken, lastSeq: 0, share } });
        // Frames right behind the resume must not reach her session either.
        bob.send({ type: 'tool_approval', id: 'a1', data: { toolCallId: 'call_mail', approved: false } });
        bob.send({ type: 'control', id: 'c1', data: { type: 'clear_history' } });
        expect(await bob.closed).toEqual({ code: 4403, reason: 'the session belongs to another principal' });
        expect(bob.received.filter((m) => m.type !== 'session')).toEqual([]);
      }
    }

    // Alice was neither taken over nor answered for: her approval runs the tool, as hers.
    alice.send({ type: 'tool_approval', id: 'a2', data: { toolCallId: 'call_mail', approved: true } });
    expect((await alice.waitFor('llm_complete')).data.fullText).toBe('Sent.');
    expect(ranFor).toEqual([{ user: 'alice', roles: ['writer'] }]);
    expect(alice.received.some((m) => m.type === 'tool_call' && m.data.status === 'denied')).toBe(false);
    alice.send({ type: 'control', id: 'h1', data: { type: 'get_history' } });
    const history = await alice.waitFor('history', (m) => m.data.requestId === 'h1');
    expect(history.data.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'tool', 'assistant']);

    // Her own principal (an equal object, keys in any order) resumes it, on either process.
    const again = await connectAs(b, 'alice-token');
    again.send({ type: 'resume', id: 'r2', data: { sessionId, resumeToken, lastSeq: 0, share: true } });
    expect((await again.waitFor('session', (m) => m.data.resumed === true)).data.sessionId).toBe(sessionId);
  });
});
