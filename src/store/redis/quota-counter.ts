/**
 * Quota counters in Redis, shared by every process of a deployment: one key per counter,
 * `<prefix>quota:<sha256 of the key>`, updated by one script (atomic, and on a Cluster the one key
 * decides the node), expiring when its window ends.
 */
import { createHash } from 'node:crypto';
import type { QuotaCounter } from '../../core/ports';
import { connectorFor, quitConnection } from './connect';
import { DEFAULT_REDIS_PREFIX, type RedisStoreOptions, targetOf } from './redis-store';

/** Where {@link redisQuotaCounter} keeps its counts: the same Redis as the store, named the same way. */
export type RedisQuotaCounterOptions = Pick<
  RedisStoreOptions,
  'url' | 'client' | 'cluster' | 'sentinels' | 'name' | 'prefix'
>;

/**
 * Adds ARGV[1] to KEYS[1], opening a window of ARGV[2] ms when none is open; returns the count and
 * the ms left in the window. Adding 0 to no window reads 0 and opens none.
 */
const ADD_SCRIPT = `
local amount = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
if amount == 0 and redis.call('EXISTS', KEYS[1]) == 0 then return {0, period} end
local used = redis.call('INCRBY', KEYS[1], amount)
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], period)
  ttl = period
end
return {used, ttl}`;

/**
 * A {@link QuotaCounter} in Redis, for the limits (`tokenBudget`, `messageRate`) of several
 * processes behind one address: a principal's budget is spent wherever its messages land. Give it
 * the Redis of `redisStore` (`url`, `client`, `cluster` or `sentinels`); it makes its own
 * connection (a duplicate of `client`), which `close()` ends. Windows run on Redis's clock.
 *
 * ```ts
 * new WSServer({
 *   store: redisStore({ url }),
 *   tokenBudget: { tokens: 200_000, periodMs: 86_400_000 },
 *   quotaCounter: redisQuotaCounter({ url }),
 * });
 * ```
 */
export function redisQuotaCounter(options: RedisQuotaCounterOptions = {}): QuotaCounter {
  const redis = connectorFor(targetOf(options))({ lazyConnect: true, protocol: 2 });
  const prefix = `${options.prefix ?? DEFAULT_REDIS_PREFIX}quota:`;
  // Hashed: a principal's key may be long JSON, and need not sit in Redis readable.
  const keyOf = (key: string): string => prefix + createHash('sha256').update(key).digest('base64url');
  return {
    add: async (key, amount, periodMs) => {
      const period = Math.max(1, Math.ceil(periodMs));
      const [used, resetInMs] = (await redis.eval(ADD_SCRIPT, 1, keyOf(key), Math.ceil(amount), period)) as [
        number,
        number,
      ];
      return { used, resetInMs };
    },
    close: async () => {
      await quitConnection(redis);
    },
  };
}
