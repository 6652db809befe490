/**
 * PostgreSQL records after their connections are ended by the server (what a restart does): the
 * next writes and reads get new connections, and the process does not crash. Also while
 * PostgreSQL cannot be reached (a proxy in front of it pointed away) and after it can again.
 */
import pg from 'pg';
import { postgresRecords } from '../../src/store/postgres';
import type { SessionRecords } from '../../src/core/ports';
import { createTcpProxy } from '../utils/tcp-proxy';

const BASE_URL = process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const SCHEMA = `llmws_reconnect_${process.pid}`;
const APPLICATION = `llmws-reconnect-${process.pid}`;
/** The records' connections: in a schema of their own, named so that only they are ended. */
const RECORDS_URL = `${BASE_URL}?application_name=${APPLICATION}&options=-c%20search_path%3D${SCHEMA}`;

const admin = new pg.Client({ connectionString: BASE_URL });
let records: SessionRecords | undefined;

beforeAll(async () => {
  await admin.connect();
  await admin.query(`CREATE SCHEMA IF NOT EXISTS ${SCHEMA}`);
});

afterEach(async () => {
  await records?.close();
  records = undefined;
});

afterAll(async () => {
  await admin.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  await admin.end();
});

/** Ends every connection of the records on the server's side; resolves with how many there were. */
async function terminateRecordsConnections(): Promise<number> {
  const { rowCount } = await admin.query(
    `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
     WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name = $1`,
    [APPLICATION],
  );
  return rowCount ?? 0;
}

const meta = { tokenHash: 'h', principal: { sub: 'u' }, createdAt: 1, updatedAt: 1 };
const history = (text: string) => [{ role: 'user' as const, content: text }];

it('writes and reads again after the server ended its connections, and the process did not crash', async () => {
  const opened = postgresRecords({ url: RECORDS_URL, batchMs: 5 });
  records = opened;
  await opened.create('s1', meta);
  // Several idle connections to end, not just one.
  await Promise.all(['s2', 's3', 's4'].map((id) => opened.create(id, meta)));
  opened.append('s1', 1, 'one');
  await opened.writeHistory('s1', history('before'), 2);

  expect(await terminateRecordsConnections()).toBeGreaterThan(0);

  // At most the first call after it may report the lost connection.
  const first = await opened.writeHistory('s1', history('after'), 3).then(
    () => 'written',
    () => 'failed',
  );
  if (first === 'failed') await opened.writeHistory('s1', history('after'), 3);
  opened.append('s1', 2, 'two');
  await opened.setBusy('s1', undefined, 'r1');
  expect((await opened.read('s1'))?.history).toEqual(history('after'));
  expect(await opened.framesAfter('s1', 0)).toEqual({
    frames: [
      { seq: 1, text: 'one' },
      { seq: 2, text: 'two' },
    ],
  });
  await expect(opened.read('s3')).resolves.toBeDefined();

  // Ended again while idle: the pool heard the server's notice (an unheard 'error' would crash jest's worker).
  expect(await terminateRecordsConnections()).toBeGreaterThan(0);
  await expect(opened.read('s1')).resolves.toBeDefined();
});

it("lands each session's writes in the order they were made, over several connections", async () => {
  const opened = postgresRecords({ url: RECORDS_URL, batchMs: 1, maxConnections: 4 });
  records = opened;
  const ids = ['o1', 'o2', 'o3', 'o4', 'o5'];
  await Promise.all(ids.map((id) => opened.create(id, meta)));
  const writes: Promise<void>[] = [];
  for (let version = 1; version <= 30; version++)
    for (const id of ids) {
      opened.append(id, version, `frame ${version}`);
      writes.push(opened.writeHistory(id, history(`version ${version}`), version));
    }
  await Promise.all(writes);
  for (const id of ids) {
    expect((await opened.read(id))?.history).toEqual(history('version 30'));
    const range = await opened.framesAfter(id, 0);
    expect('frames' in range && range.frames.length).toBe(30);
  }
});

it('makes its tables once PostgreSQL, down when the records opened, is up; a batch lost meanwhile is reported once', async () => {
  const proxy = await createTcpProxy(Number(new URL(BASE_URL).port || 5432));
  const url = new URL(RECORDS_URL);
  url.host = `127.0.0.1:${proxy.port}`;
  try {
    proxy.retarget(1); // nothing listens there: refused
    // Appends wait for the next write or read: the test says when a batch is sent.
    const opened = postgresRecords({ url: url.toString(), batchMs: 60_000 });
    records = opened;
    await expect(opened.create('late', meta)).rejects.toThrow();
    expect(opened.health?.()).toBe('unavailable');

    proxy.retarget(Number(new URL(BASE_URL).port || 5432));
    await opened.create('late', meta);
    expect(opened.health?.()).toBe('ok');
    opened.append('late', 1, 'one');
    await opened.writeHistory('late', history('one'), 2);

    // Down again: the next batch fails, and the session's next write says so (then they work again).
    proxy.retarget(1);
    proxy.cutAll();
    opened.append('late', 2, 'two');
    // A list sends the batch and waits for it (then fails itself).
    await expect(opened.list(meta.principal, { limit: 1 })).rejects.toThrow();
    expect(opened.health?.()).toBe('unavailable');
    proxy.retarget(Number(new URL(BASE_URL).port || 5432));
    await expect(opened.writeHistory('late', history('two'), 3)).rejects.toThrow();
    await opened.writeHistory('late', history('two'), 3);
    expect(await opened.framesAfter('late', 0)).toEqual({ frames: [{ seq: 1, text: 'one' }] });
  } finally {
    await records?.close();
    records = undefined;
    await proxy.close();
  }
});
