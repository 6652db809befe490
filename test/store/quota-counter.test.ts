/**
 * The quota counters behind `tokenBudget` and `messageRate`: a window per key, opened by its first
 * count; in memory (a clock of the test's) and in the real Redis at 127.0.0.1:6379.
 */
import type { QuotaCounter } from '../../src/core/ports';
import { memoryQuotaCounter } from '../../src/store/memory-quota';
import { redisQuotaCounter } from '../../src/store/redis';
import { isolatedRedisKeys, keysUnder, TEST_REDIS_URL } from '../utils/redis';

const keys = isolatedRedisKeys();

describe.each([
  ['memory', () => memoryQuotaCounter()],
  ['redis', () => redisQuotaCounter({ url: TEST_REDIS_URL, prefix: keys.prefix })],
])('%s quota counter', (_kind, make: () => QuotaCounter) => {
  let counter: QuotaCounter;
  beforeEach(() => {
    counter = make();
  });
  afterEach(() => counter.close());

  it('counts per key within one window, and reading (adding 0) opens none', async () => {
    expect(await counter.add('a', 0, 60_000)).toEqual({ used: 0, resetInMs: 60_000 });
    const first = await counter.add('a', 30, 60_000);
    expect(first.used).toBe(30);
    expect(first.resetInMs).toBeGreaterThan(59_000);
    expect(first.resetInMs).toBeLessThanOrEqual(60_000);
    expect((await counter.add('a', 12, 60_000)).used).toBe(42);
    expect((await counter.add('b', 1, 60_000)).used).toBe(1);
    expect((await counter.add('a', 0, 60_000)).used).toBe(42);
    // Giving back (a refused message) lowers the count.
    expect((await counter.add('a', -2, 60_000)).used).toBe(40);
  });

  it('keeps every count of concurrent adds (atomic)', async () => {
    await Promise.all(Array.from({ length: 50 }, () => counter.add('c', 2, 60_000)));
    expect((await counter.add('c', 0, 60_000)).used).toBe(100);
  });
});

describe('memory quota counter', () => {
  it('starts again from 0 once the window ended, whenever the key is counted next', async () => {
    let now = 1_000;
    const counter = memoryQuotaCounter(() => now);
    await counter.add('a', 5, 100);
    now += 60;
    expect(await counter.add('a', 1, 100)).toEqual({ used: 6, resetInMs: 40 });
    now += 40;
    expect(await counter.add('a', 0, 100)).toEqual({ used: 0, resetInMs: 100 });
    expect(await counter.add('a', 2, 100)).toEqual({ used: 2, resetInMs: 100 });
    await counter.close();
  });
});

describe('redis quota counter', () => {
  it('keeps one hashed key per counter, expiring with its window (so a Cluster serves it too)', async () => {
    const counter = redisQuotaCounter({ url: TEST_REDIS_URL, prefix: keys.prefix });
    try {
      await counter.add('{"user":"ann"}', 7, 60_000);
      const stored = await keysUnder(keys.redis, keys.prefix);
      expect(stored).toHaveLength(1);
      expect(stored[0]).toMatch(new RegExp(`^${keys.prefix}quota:[A-Za-z0-9_-]{43}$`));
      expect(stored[0]).not.toContain('ann');
      const ttl = await keys.redis.pttl(stored[0] as string);
      expect(ttl).toBeGreaterThan(59_000);
      // The window rolls over on Redis's clock: a short one ends while the test watches.
      await counter.add('short', 3, 50);
      let used = 3;
      const deadline = Date.now() + 5_000;
      while (used !== 0 && Date.now() < deadline) {
        await new Promise((resolve) => setImmediate(resolve));
        used = (await counter.add('short', 0, 50)).used;
      }
      expect(used).toBe(0);
    } finally {
      await counter.close();
    }
  });
});
