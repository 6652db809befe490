/**
 * A master of a Redis Cluster that hangs (SIGSTOP) makes only the sessions in its slots
 * unavailable, within the store's command deadline, and `/health` names it; the sessions in the
 * other masters' slots are served meanwhile. The cluster's node timeout is long here, so its
 * replica does not take over during the test.
 */
import type { WSServer } from '../../src/server/ws-server';
import { redisStore } from '../../src/store/redis';
import { createOpenAITestServer, type OpenAITestServer } from '../../src/testing/node';
import { uniquePrefix } from '../utils/redis';
import { ask, type OwnRedisCluster, type RedisProcess, startRedisCluster } from '../utils/redis-cluster';
import { startServerFor } from '../utils/test-server';
import { waitUntilTrue } from '../utils/wait-until';
import { connectTestClient, sessionGreeting, type TestClient, userMessage } from '../utils/ws-test-client';

/** Short, so the test is quick; the default is 2 s. */
const COMMAND_TIMEOUT_MS = 400;

let cluster: OwnRedisCluster;
let upstream: OpenAITestServer;
let servers: WSServer[] = [];
let clients: TestClient[] = [];
let frozen: RedisProcess | undefined;

beforeAll(async () => {
  cluster = await startRedisCluster({ nodeTimeoutMs: 60_000 });
}, 60_000);
afterAll(async () => {
  await cluster?.stop();
});
beforeEach(async () => {
  upstream = await createOpenAITestServer();
});
afterEach(async () => {
  // Nothing stays stopped, whatever the test did.
  frozen?.thaw();
  await Promise.all(clients.map((client) => client.close()));
  clients = [];
  await Promise.all(servers.map((server) => server.stop()));
  servers = [];
  await upstream.close();
});

async function connect(server: WSServer): Promise<TestClient> {
  const client = await connectTestClient(server.url as string);
  clients.push(client);
  await client.waitFor('session');
  return client;
}

async function storeHealth(server: WSServer): Promise<{ status: string; unavailableNodes?: string[] }> {
  const response = await fetch(`http://127.0.0.1:${server.port}/health`);
  return ((await response.json()) as { store: { status: string; unavailableNodes?: string[] } }).store;
}

interface Stored {
  readonly sessionId: string;
  readonly resumeToken: string;
  readonly lastSeq: number;
  /** Port of the master serving the session's slot. */
  readonly master: number;
}

/** A session with one answered message, its client gone: its state is in the cluster only. */
async function storedSession(server: WSServer, n: number): Promise<Stored> {
  const client = await connect(server);
  const { sessionId, resumeToken } = sessionGreeting(client);
  upstream.enqueue({ type: 'text', chunks: [`answer ${n}`] });
  client.send(userMessage(`q${n}`, `question ${n}`));
  const idle = await client.waitFor('status', (m) => m.data.requestId === `q${n}` && m.data.status === 'idle');
  await client.close();
  await waitUntilTrue(() => server.getActiveSessions().every((s) => s.sessionId !== sessionId));
  const slot = Number(await ask(cluster.startupNodes[0] as RedisProcess, 'CLUSTER', 'KEYSLOT', `{${sessionId}}`));
  return { sessionId, resumeToken, lastSeq: idle.seq as number, master: (await cluster.masterOf(slot)).port };
}

describe('redisStore on a Redis Cluster when one master hangs', () => {
  it('makes only the sessions in its slots unavailable, within the deadline, and names it on /health', async () => {
    const server = await startServerFor(upstream, {
      store: redisStore({
        cluster: cluster.startupNodes,
        prefix: uniquePrefix(),
        leaseMs: 1000,
        commandTimeoutMs: COMMAND_TIMEOUT_MS,
      }),
    });
    servers.push(server);
    const stored: Stored[] = [];
    // Sessions on at least two masters: the first one's master hangs.
    for (let n = 0; n < 40 && new Set(stored.map((s) => s.master)).size < 2; n++)
      stored.push(await storedSession(server, n));
    const hung = stored[0] as Stored;
    const healthy = stored.find((s) => s.master !== hung.master) as Stored;
    expect(healthy).toBeDefined();
    const master = cluster.nodes.find((node) => node.port === hung.master);
    if (!master) throw new Error(`no node on port ${hung.master}`);
    frozen = master;

    master.freeze();
    // Nobody asks anything: the store's own checks notice.
    await waitUntilTrue(async () => (await storeHealth(server)).status === 'degraded', 10_000);
    expect(await storeHealth(server)).toEqual({
      kind: 'redis',
      status: 'degraded',
      unavailableNodes: [`127.0.0.1:${hung.master}`],
    });

    const lost = await connect(server);
    const startedAt = Date.now();
    lost.send({
      type: 'resume',
      id: 'r1',
      data: { sessionId: hung.sessionId, resumeToken: hung.resumeToken, lastSeq: hung.lastSeq },
    });
    expect(await lost.closed).toMatchObject({ code: 1013 });
    // One command's deadline, and the time to notice it under load; never the cluster's node timeout (60 s).
    expect(Date.now() - startedAt).toBeLessThan(COMMAND_TIMEOUT_MS + 2000);

    const served = await connect(server);
    served.send({
      type: 'resume',
      id: 'r2',
      data: { sessionId: healthy.sessionId, resumeToken: healthy.resumeToken, lastSeq: healthy.lastSeq },
    });
    expect((await served.waitFor('session', (m) => m.data.requestId === 'r2')).data).toMatchObject({ resumed: true });
    upstream.enqueue({ type: 'text', chunks: ['served'] });
    served.send(userMessage('q-live', 'still there?'));
    expect((await served.waitFor('llm_complete', (m) => m.data.requestId === 'q-live', 10_000)).data.fullText).toBe(
      'served',
    );

    master.thaw();
    await waitUntilTrue(async () => (await storeHealth(server)).status === 'ok', 15_000);
    const back = await connect(server);
    back.send({
      type: 'resume',
      id: 'r3',
      data: { sessionId: hung.sessionId, resumeToken: hung.resumeToken, lastSeq: hung.lastSeq },
    });
    expect((await back.waitFor('session', (m) => m.data.requestId === 'r3', 10_000)).data).toMatchObject({
      resumed: true,
      lastSeq: hung.lastSeq,
    });
  }, 90_000);
});
