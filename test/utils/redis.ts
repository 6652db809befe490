import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

/** The Redis the tests use: REDIS_URL, else the one on this machine. */
export const TEST_REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A key prefix no other test (or run) shares, so tests can run in parallel on one Redis. */
export const uniquePrefix = (): string => `llm-ws-test:${randomBytes(6).toString('hex')}:`;

/** A plain connection to look at what the store wrote. */
export const inspectRedis = (url = TEST_REDIS_URL): Redis => new Redis(url, { protocol: 2, maxRetriesPerRequest: 1 });

/** Every key under `prefix`. */
export async function keysUnder(redis: Redis, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  return keys;
}

/** Deletes every key under `prefix` (after a test). */
export async function deleteKeysUnder(redis: Redis, prefix: string): Promise<void> {
  const keys = await keysUnder(redis, prefix);
  if (keys.length > 0) await redis.del(...keys);
}

/**
 * Gives each test of the calling file a fresh key prefix and deletes its keys after it (after
 * the file's own afterEach hooks have stopped the servers). Call at the top level of a test file.
 */
export function isolatedRedisKeys(): { readonly prefix: string; readonly redis: Redis } {
  let redis: Redis | undefined;
  let prefix = '';
  beforeAll(() => {
    redis = inspectRedis();
  });
  afterAll(async () => {
    await redis?.quit();
  });
  beforeEach(() => {
    prefix = uniquePrefix();
  });
  afterEach(async () => {
    if (redis) await deleteKeysUnder(redis, prefix);
  });
  return {
    get prefix() {
      return prefix;
    },
    get redis() {
      if (!redis) throw new Error('isolatedRedisKeys: used outside a test');
      return redis;
    },
  };
}
