/**
 * The store conformance suite (./conformance.ts) against the stores of one process's reach:
 * memory, SQLite, PostgreSQL (127.0.0.1:5432, tables of a prefix of their own, dropped after) and
 * one Redis (a key prefix of its own, deleted after), alone and over PostgreSQL records. Redis
 * Cluster: redis-cluster-conformance.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { memoryStore } from '../../src/store';
import { dropPostgresRecords, postgresRecords, postgresStore } from '../../src/store/postgres';
import { redisStore } from '../../src/store/redis';
import { sqliteStore } from '../../src/store/sqlite';
import { deleteKeysUnder, inspectRedis, TEST_REDIS_URL, uniquePrefix } from '../utils/redis';
import { storeConformance } from './conformance';

/** The PostgreSQL of the tests (trust auth). */
export const TEST_POSTGRES_URL = process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

storeConformance({
  name: 'memory',
  setUp: () => undefined,
  store: () => memoryStore(),
  tearDown: () => undefined,
  durable: false,
  conversations: true,
  keepsInterruptedText: false,
});

let dir = '';
storeConformance({
  name: 'sqlite',
  setUp: () => {
    dir = mkdtempSync(join(tmpdir(), 'llm-ws-conformance-'));
  },
  store: () => sqliteStore({ path: join(dir, 'db.sqlite') }),
  tearDown: () => rmSync(dir, { recursive: true, force: true }),
  durable: true,
  conversations: true,
  keepsInterruptedText: true,
});

let tablePrefix = '';
storeConformance({
  name: 'postgres',
  setUp: () => {
    tablePrefix = `llmws_test_${randomBytes(5).toString('hex')}_`;
  },
  store: () => postgresStore({ url: TEST_POSTGRES_URL, tablePrefix }),
  tearDown: () => dropPostgresRecords(TEST_POSTGRES_URL, tablePrefix),
  durable: true,
  conversations: true,
  keepsInterruptedText: true,
});

let prefix = '';
storeConformance({
  name: 'redis',
  setUp: () => {
    prefix = uniquePrefix();
  },
  store: () => redisStore({ url: TEST_REDIS_URL, prefix, leaseMs: 1000 }),
  tearDown: async () => {
    const redis = inspectRedis();
    try {
      await deleteKeysUnder(redis, prefix);
    } finally {
      await redis.quit();
    }
  },
  durable: true,
  conversations: true,
  keepsInterruptedText: false,
});

let recordsPrefix = '';
let recordsTables = '';
/** Every key of the Redis over PostgreSQL subject: as a Redis restarted empty leaves it. */
const deleteRecordsKeys = async (): Promise<void> => {
  const redis = inspectRedis();
  try {
    await deleteKeysUnder(redis, recordsPrefix);
  } finally {
    await redis.quit();
  }
};
storeConformance({
  name: 'redis over postgres records',
  setUp: () => {
    recordsPrefix = uniquePrefix();
    recordsTables = `llmws_test_${randomBytes(5).toString('hex')}_`;
  },
  store: () =>
    redisStore({
      url: TEST_REDIS_URL,
      prefix: recordsPrefix,
      leaseMs: 1000,
      records: () => postgresRecords({ url: TEST_POSTGRES_URL, tablePrefix: recordsTables }),
    }),
  tearDown: async () => {
    await deleteRecordsKeys();
    await dropPostgresRecords(TEST_POSTGRES_URL, recordsTables);
  },
  durable: true,
  conversations: true,
  keepsInterruptedText: true,
  loseLiveState: deleteRecordsKeys,
});
