/**
 * Attachments across processes: two WSServers on the real Redis of this machine, each with
 * redisStore and redisAttachmentStore. A picture sent on one is in the session's Redis keys by
 * reference only, and a resume on the other shows it in history, serves its bytes and sends it to
 * the model again. Every test has its own key prefix, deleted afterwards.
 */
import type { WSServer } from '../../src/server/ws-server';
import { redisAttachmentStore, redisStore } from '../../src/store/redis';
import { createOpenAITestServer, type OpenAITestServer } from '../../src/testing/node';
import { isolatedRedisKeys, keysUnder, TEST_REDIS_URL } from '../utils/redis';
import { startServerFor } from '../utils/test-server';
import { waitUntilTrue } from '../utils/wait-until';
import { connectTestClient, type TestClient, userMessage } from '../utils/ws-test-client';

const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108020000009077', 'hex').toString('base64');

let upstream: OpenAITestServer;
const keys = isolatedRedisKeys();
let servers: WSServer[] = [];
let stores: Array<ReturnType<typeof redisAttachmentStore>> = [];
let clients: TestClient[] = [];

async function startNode(): Promise<WSServer> {
  const attachmentStore = redisAttachmentStore({ url: TEST_REDIS_URL, prefix: keys.prefix });
  stores.push(attachmentStore);
  const server = await startServerFor(upstream, {
    store: redisStore({ url: TEST_REDIS_URL, prefix: keys.prefix, leaseMs: 1000 }),
    attachmentStore,
  });
  servers.push(server);
  return server;
}

async function testClient(server: WSServer): Promise<TestClient> {
  const client = await connectTestClient(server.url as string);
  clients.push(client);
  return client;
}

/** What a key holds, whatever its type (the session's keys are hashes, streams, strings and sets). */
async function valueOf(key: string): Promise<unknown> {
  const redis = keys.redis;
  switch (await redis.type(key)) {
    case 'string':
      return redis.get(key);
    case 'hash':
      return redis.hgetall(key);
    case 'list':
      return redis.lrange(key, 0, -1);
    case 'set':
      return redis.smembers(key);
    case 'zset':
      return redis.zrange(key, '0', '-1');
    case 'stream':
      return redis.xrange(key, '-', '+');
    default:
      return null;
  }
}

const httpBase = (server: WSServer): string => (server.url as string).replace(/^ws/, 'http').replace(/\/ws$/, '');

beforeEach(async () => {
  upstream = await createOpenAITestServer();
});
afterEach(async () => {
  await Promise.all(clients.map((client) => client.close()));
  clients = [];
  await Promise.all(servers.map((server) => server.stop()));
  servers = [];
  await Promise.all(stores.map((store) => store.close()));
  stores = [];
  await upstream.close();
});

describe('redisAttachmentStore: two servers, one Redis', () => {
  it('a resume on the other server shows the picture in history, serves it, and sends it to the model', async () => {
    const a = await startNode();
    const b = await startNode();
    const owner = await testClient(a);
    const { sessionId, resumeToken } = (await owner.waitFor('session')).data;
    owner.send({
      type: 'user_message',
      id: 'm1',
      data: { text: 'what is this?', attachments: [{ mediaType: 'image/png', data: PNG, name: 'dot.png' }] },
    });
    await owner.waitFor('llm_complete', (m) => m.data.requestId === 'm1');
    const picture = { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } };
    const userOf = async (index: number): Promise<unknown> =>
      ((await upstream.request(index)).body.messages as Array<{ role: string; content: unknown }>).find(
        (m) => m.role === 'user',
      )?.content;
    expect(await userOf(0)).toEqual([{ type: 'text', text: 'what is this?' }, picture]);

    // In Redis: the bytes once, under the attachment's key; the session's keys hold only the reference.
    // Writes are not awaited on the way to the client (`put` answers at once): wait for both to land.
    let attachmentKeys: string[] = [];
    let sessionValues = '';
    await waitUntilTrue(async () => {
      const all = await keysUnder(keys.redis, keys.prefix);
      attachmentKeys = all.filter((key) => key.startsWith(`${keys.prefix}attachment:`));
      sessionValues = JSON.stringify(
        await Promise.all(all.filter((key) => !attachmentKeys.includes(key)).map((key) => valueOf(key))),
      );
      const ref = attachmentKeys[0]?.split(':').at(-1);
      return ref !== undefined && sessionValues.includes(ref);
    }, 10_000);
    expect(attachmentKeys).toHaveLength(1);
    const ttl = await keys.redis.pttl(attachmentKeys[0] as string);
    expect(ttl).toBeGreaterThan(0);
    expect(sessionValues).not.toContain(PNG);
    await owner.close();

    const moved = await testClient(b);
    await moved.waitFor('session');
    moved.send({ type: 'resume', id: 'r1', data: { sessionId, resumeToken, lastSeq: 0 } });
    await moved.waitFor('session', (m) => m.data.sessionId === sessionId);
    moved.send({ type: 'control', id: 'h1', data: { type: 'get_history' } });
    const history = await moved.waitFor('history', (m) => m.data.requestId === 'h1');
    const ref = history.data.messages[0]?.attachments?.[0]?.ref;
    expect(history.data.messages[0]?.attachments).toEqual([
      { mediaType: 'image/png', name: 'dot.png', bytes: 31, ref: expect.stringMatching(/^sha256-[0-9a-f]{64}$/) },
    ]);
    expect(JSON.stringify(moved.received)).not.toContain(PNG);

    const response = await fetch(`${httpBase(b)}/attachments/${ref}`);
    expect(response.status).toBe(200);
    expect(Buffer.from(await response.arrayBuffer()).toString('base64')).toBe(PNG);

    // The model, called from the other process, still sees the picture.
    moved.send(userMessage('m2', 'and now?'));
    await moved.waitFor('llm_complete', (m) => m.data.requestId === 'm2');
    expect(await userOf(1)).toEqual([{ type: 'text', text: 'what is this?' }, picture]);
  });
});
