/**
 * The store conformance suite (./conformance.ts) against a Redis Cluster of this test's own
 * (integration tier: it starts six redis-server processes), alone and over PostgreSQL records
 * (127.0.0.1:5432, tables of a prefix of their own, dropped after).
 */
import { randomBytes } from 'node:crypto';
import { dropPostgresRecords, postgresRecords } from '../../src/store/postgres';
import { redisStore } from '../../src/store/redis';
import { uniquePrefix } from '../utils/redis';
import { ask, type OwnRedisCluster, startRedisCluster } from '../utils/redis-cluster';
import { storeConformance } from './conformance';

/** The PostgreSQL of the tests (trust auth). */
const TEST_POSTGRES_URL = process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

let cluster: OwnRedisCluster | undefined;
let prefix = '';

beforeAll(async () => {
  cluster = await startRedisCluster();
}, 60_000);
afterAll(async () => {
  await cluster?.stop();
});

storeConformance({
  name: 'redis cluster',
  setUp: () => {
    prefix = uniquePrefix();
  },
  store: () =>
    redisStore({ cluster: (cluster as OwnRedisCluster).startupNodes, prefix, leaseMs: 1000, commandTimeoutMs: 1000 }),
  // The cluster goes with its processes after the file.
  tearDown: () => undefined,
  durable: true,
  conversations: true,
  keepsInterruptedText: false,
});

let tables = '';
storeConformance({
  name: 'redis cluster over postgres records',
  setUp: () => {
    prefix = uniquePrefix();
    tables = `llmws_test_${randomBytes(5).toString('hex')}_`;
  },
  store: () =>
    redisStore({
      cluster: (cluster as OwnRedisCluster).startupNodes,
      prefix,
      leaseMs: 1000,
      commandTimeoutMs: 1000,
      records: () => postgresRecords({ url: TEST_POSTGRES_URL, tablePrefix: tables }),
    }),
  tearDown: () => dropPostgresRecords(TEST_POSTGRES_URL, tables),
  durable: true,
  conversations: true,
  keepsInterruptedText: true,
  // The cluster is this file's own: every master forgets everything (replicas follow), as after a restart empty.
  loseLiveState: async () => {
    await Promise.all((cluster as OwnRedisCluster).nodes.map((node) => ask(node, 'FLUSHALL').catch(() => undefined)));
  },
});
