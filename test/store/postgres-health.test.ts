/**
 * `/health` says whether the PostgreSQL records answer: alone (`postgresStore`) and under Redis,
 * where Redis may answer while PostgreSQL does not. PostgreSQL is reached through a proxy the test
 * points away and back (127.0.0.1:5432 behind it; tables in a schema of their own).
 */
import pg from 'pg';
import type { WSServer } from '../../src/server/ws-server';
import { postgresRecords, postgresStore } from '../../src/store/postgres';
import { redisStore } from '../../src/store/redis';
import { createOpenAITestServer, type OpenAITestServer } from '../../src/testing/node';
import { isolatedRedisKeys, TEST_REDIS_URL } from '../utils/redis';
import { createTcpProxy, type TcpProxy } from '../utils/tcp-proxy';
import { startServerFor } from '../utils/test-server';
import { waitUntilTrue } from '../utils/wait-until';

const BASE_URL = process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const SCHEMA = `llmws_health_${process.pid}`;
const keys = isolatedRedisKeys();

/** Nothing listens there: a proxy pointed at it refuses every connection (PostgreSQL is down). */
const NOWHERE_PORT = 1;
const POSTGRES_PORT = Number(new URL(BASE_URL).port || 5432);

/** The database through `proxy`, its tables in the test's schema. */
function urlThrough(proxy: TcpProxy): string {
  const url = new URL(BASE_URL);
  url.host = `127.0.0.1:${proxy.port}`;
  url.searchParams.set('options', `-c search_path=${SCHEMA}`);
  return url.toString();
}

/** PostgreSQL goes away: every connection through the proxy is cut, and new ones are refused. */
function down(proxy: TcpProxy): void {
  proxy.retarget(NOWHERE_PORT);
  proxy.cutAll();
}

const admin = new pg.Client({ connectionString: BASE_URL });
let upstream: OpenAITestServer;
let proxy: TcpProxy;
let server: WSServer | undefined;

beforeAll(async () => {
  await admin.connect();
  await admin.query(`CREATE SCHEMA IF NOT EXISTS ${SCHEMA}`);
});
afterAll(async () => {
  await admin.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  await admin.end();
});
beforeEach(async () => {
  upstream = await createOpenAITestServer();
  proxy = await createTcpProxy(POSTGRES_PORT);
});
afterEach(async () => {
  await server?.stop();
  server = undefined;
  await proxy.close();
  await upstream.close();
});

interface Health {
  store: { kind: string; status: string };
  records?: { kind: string; status: string };
}
const health = async (): Promise<Health> =>
  (await (await fetch(`http://127.0.0.1:${server?.port}/health`)).json()) as Health;
/** Waits until `/health` says the records are `status`, and resolves with it. */
async function recordsBecome(status: string): Promise<Health> {
  await waitUntilTrue(async () => (await health()).records?.status === status, 10_000, 50);
  return health();
}

it('says the records of postgresStore are unavailable while PostgreSQL is, and ok again after', async () => {
  server = await startServerFor(upstream, { store: postgresStore({ url: urlThrough(proxy), batchMs: 5 }) });
  expect(await recordsBecome('ok')).toMatchObject({
    store: { kind: 'postgres', status: 'ok' },
    records: { kind: 'postgres', status: 'ok' },
  });

  down(proxy);
  // The records are the store here: both say it.
  expect(await recordsBecome('unavailable')).toMatchObject({ store: { kind: 'postgres', status: 'unavailable' } });

  proxy.retarget(POSTGRES_PORT);
  expect(await recordsBecome('ok')).toMatchObject({ store: { kind: 'postgres', status: 'ok' } });
});

it('says the PostgreSQL records under Redis are unavailable while Redis answers', async () => {
  const store = redisStore({
    url: TEST_REDIS_URL,
    prefix: keys.prefix,
    records: () => postgresRecords({ url: urlThrough(proxy), batchMs: 5 }),
  });
  server = await startServerFor(upstream, { store });
  expect(await recordsBecome('ok')).toMatchObject({ store: { kind: 'redis', status: 'ok' } });

  down(proxy);
  expect(await recordsBecome('unavailable')).toMatchObject({ store: { kind: 'redis', status: 'ok' } });

  proxy.retarget(POSTGRES_PORT);
  await recordsBecome('ok');
});

it('has no records field for a store without records', async () => {
  server = await startServerFor(upstream, {});
  expect((await health()).records).toBeUndefined();
});
