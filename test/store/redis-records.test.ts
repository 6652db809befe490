/**
 * The Redis store over PostgreSQL records, beyond the conformance suite: a deletion leaves
 * nothing in either store, and a session Redis kept from before the records were given is
 * recorded with its next change. Redis 127.0.0.1:6379 (a key prefix of its own) and PostgreSQL
 * 127.0.0.1:5432 (tables of a prefix of their own, dropped after).
 */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { filter, firstValueFrom, lastValueFrom } from 'rxjs';
import { WSClient } from '../../src/client/node';
import type { WSServer } from '../../src/server/ws-server';
import { dropPostgresRecords, postgresRecords } from '../../src/store/postgres';
import { redisStore } from '../../src/store/redis';
import { createOpenAITestServer, type OpenAITestServer } from '../../src/testing/node';
import { deleteKeysUnder, isolatedRedisKeys, keysUnder, TEST_REDIS_URL } from '../utils/redis';
import { startServerFor } from '../utils/test-server';
import { waitUntilTrue } from '../utils/wait-until';

const POSTGRES = process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const keys = isolatedRedisKeys();

let upstream: OpenAITestServer;
let tables = '';
let servers: WSServer[] = [];
let clients: WSClient[] = [];

beforeEach(async () => {
  upstream = await createOpenAITestServer();
  tables = `llmws_test_${randomBytes(5).toString('hex')}_`;
});
afterEach(async () => {
  for (const client of clients) client.disconnect();
  clients = [];
  await Promise.all(servers.map((server) => server.stop()));
  servers = [];
  await upstream.close();
  await dropPostgresRecords(POSTGRES, tables);
});

const start = async (withRecords: boolean): Promise<WSServer> => {
  const store = redisStore({
    url: TEST_REDIS_URL,
    prefix: keys.prefix,
    leaseMs: 1000,
    ...(withRecords ? { records: () => postgresRecords({ url: POSTGRES, tablePrefix: tables }) } : {}),
  });
  const server = await startServerFor(upstream, { store });
  servers.push(server);
  return server;
};

const connect = async (server: WSServer, session?: { sessionId: string; resumeToken: string }): Promise<WSClient> => {
  const client = new WSClient({
    url: server.url as string,
    reconnectAttempts: 5,
    reconnectDelay: 20,
    ...(session ? { session } : {}),
  });
  clients.push(client);
  await client.connect();
  return client;
};

/**
 * The session ids of the records' session rows, and how many frames they hold. The records open
 * their tables with the first write, which the store does not wait for: until then there are
 * no tables, and so nothing recorded.
 */
async function recorded(): Promise<{ sessions: string[]; frames: number }> {
  const client = new Client({ connectionString: POSTGRES });
  await client.connect();
  try {
    const [exists] = (await client.query<{ t: string | null }>('SELECT to_regclass($1) AS t', [`${tables}frames`]))
      .rows;
    if (!exists?.t) return { sessions: [], frames: 0 };
    const sessions = (await client.query<{ id: string }>(`SELECT id FROM ${tables}sessions`)).rows.map((r) => r.id);
    const [count] = (await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${tables}frames`)).rows;
    return { sessions, frames: Number(count?.n ?? 0) };
  } finally {
    await client.end();
  }
}

describe('the Redis store over PostgreSQL records', () => {
  it('works on processes that open the same new tables at once', async () => {
    // The processes behind one Redis start together: each creates the tables if missing.
    const opened = Array.from({ length: 6 }, () => postgresRecords({ url: POSTGRES, tablePrefix: tables }));
    try {
      await expect(Promise.all(opened.map((records) => records.read('none')))).resolves.toEqual(
        opened.map(() => undefined),
      );
    } finally {
      await Promise.all(opened.map((records) => records.close()));
    }
  });

  it('removes a deleted conversation from Redis and from the records', async () => {
    const server = await start(true);
    const c = await connect(server);
    upstream.enqueue({ type: 'text', chunks: ['gone ', 'soon'] });
    await c.sendMessage('delete me');
    const id = c.sessionId as string;
    // Written through without being awaited: there within a few ms.
    await waitUntilTrue(async () => (await recorded()).sessions.includes(id));
    const other = await connect(server);
    await other.deleteConversation(id);
    expect(await recorded()).toEqual({ sessions: [], frames: 0 });
    expect((await keysUnder(keys.redis, keys.prefix)).filter((key) => key.includes(id))).toEqual([]);
  });

  it('keeps the other branches when a reply cut by a stop comes back as interrupted after Redis lost it', async () => {
    const first = await start(true);
    const c = await connect(first);
    upstream.enqueue({ type: 'text', chunks: ['one'] });
    const original = await c.sendMessage('q1');
    upstream.enqueue({ type: 'text', chunks: ['two'] });
    await lastValueFrom(c.editMessage(original.userMessageId as string, 'q1 edited'));
    upstream.enqueue({ type: 'stall', chunks: ['half '] });
    const cut = c.sendMessage('q2');
    cut.catch(() => undefined);
    await firstValueFrom(c.chunks$.pipe(filter(({ chunk }) => chunk === 'half ')));
    const session = c.session as { sessionId: string; resumeToken: string };
    c.disconnect();
    await first.stop();
    servers = [];
    await deleteKeysUnder(keys.redis, keys.prefix);

    const second = await start(true);
    const resumed = await connect(second, session);
    expect((await resumed.getHistory()).map((m) => [m.content, m.finishReason])).toEqual([
      ['q1 edited', undefined],
      ['two', undefined],
      ['q2', undefined],
      ['half ', 'interrupted'],
    ]);
    const back = await resumed.switchBranch(original.userMessageId as string);
    expect(back.map((m) => m.content)).toEqual(['q1', 'one']);
  });

  it('records a session Redis kept from before the records were given, with its next change', async () => {
    const before = await start(false);
    const c = await connect(before);
    upstream.enqueue({ type: 'text', chunks: ['from redis'] });
    await c.sendMessage('older than the records');
    const session = c.session as { sessionId: string; resumeToken: string };
    c.disconnect();
    await before.stop();
    servers = [];

    const after = await start(true);
    const resumed = await connect(after, session);
    expect(resumed.sessionId).toBe(session.sessionId);
    upstream.enqueue({ type: 'text', chunks: ['now kept'] });
    await resumed.sendMessage('and now?');
    expect((await resumed.listConversations()).conversations).toEqual([
      expect.objectContaining({ id: session.sessionId, title: 'older than the records', messageCount: 4 }),
    ]);
  });
});
