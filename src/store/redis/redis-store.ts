import { Redis, type RedisOptions } from 'ioredis';
import type { SessionStore } from '../types';
import { createRedisSessionDirectory } from './redis-directory';

/** Key prefix unless configured. */
export const DEFAULT_REDIS_PREFIX = 'llm-ws:';
/** How long a process that stops answering keeps its sessions, unless configured (10 s). */
export const DEFAULT_REDIS_LEASE_MS = 10_000;
/** The Redis used when neither `url`, `client` nor `REDIS_URL` says otherwise. */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** Settings of {@link redisStore}. */
export interface RedisStoreOptions {
  /** The Redis to use. @default process.env.REDIS_URL, else DEFAULT_REDIS_URL */
  readonly url?: string;
  /**
   * A connection of your own instead of `url` (its settings are kept; llm-ws duplicates it for
   * pub/sub and for following logs, and does not close it).
   */
  readonly client?: Redis;
  /** Prepended to every key and to the pub/sub channel: several deployments can share one Redis. @default DEFAULT_REDIS_PREFIX */
  readonly prefix?: string;
  /**
   * How long a process that stops answering keeps its sessions, in ms: after it, another process
   * takes them over and fails the reply that was running. @default DEFAULT_REDIS_LEASE_MS
   */
  readonly leaseMs?: number;
  /** Longest `start()` waits for Redis, in ms; the server starts regardless, refusing requests until Redis answers. @default 5000 */
  readonly connectTimeoutMs?: number;
}

/**
 * Connections llm-ws makes itself: RESP2 for stable reply shapes, and fail fast while Redis is
 * away (no offline queue, no retries of a command): a request then gets `store_unavailable` at
 * once instead of hanging. Reconnects go on in the background.
 */
const OWN_CONNECTION: RedisOptions = { protocol: 2, maxRetriesPerRequest: 0, enableOfflineQueue: false };
/** A connection that follows a log: made on demand, so its first XREAD waits for it to connect. */
const FOLLOW_CONNECTION: RedisOptions = { ...OWN_CONNECTION, enableOfflineQueue: true };

/**
 * Sessions in Redis, shared by every server process that uses the same Redis and prefix: a
 * client can reconnect to any of them and resume, even mid-reply (see docs/SCALING.md).
 *
 * ```ts
 * new WSServer({ store: redisStore({ url: 'redis://redis:6379' }) });
 * ```
 */
export function redisStore(options: RedisStoreOptions = {}): SessionStore {
  const leaseMs = options.leaseMs ?? DEFAULT_REDIS_LEASE_MS;
  if (!Number.isFinite(leaseMs) || leaseMs < 100) throw new RangeError(`leaseMs must be at least 100, got ${leaseMs}`);
  const prefix = options.prefix ?? DEFAULT_REDIS_PREFIX;
  return {
    kind: 'redis',
    open: (context) => {
      const url = options.url ?? process.env.REDIS_URL ?? DEFAULT_REDIS_URL;
      const own = options.client === undefined;
      const redis = options.client ?? new Redis(url, OWN_CONNECTION);
      const subscriber = own ? new Redis(url, OWN_CONNECTION) : redis.duplicate({ enableOfflineQueue: false });
      return createRedisSessionDirectory(context, {
        redis,
        subscriber,
        newConnection: () => (own ? new Redis(url, FOLLOW_CONNECTION) : redis.duplicate({ protocol: 2, enableOfflineQueue: true })),
        prefix,
        leaseMs,
        connectTimeoutMs: options.connectTimeoutMs ?? 5000,
        closeConnections: async () => {
          const mine = own ? [subscriber, redis] : [subscriber];
          await Promise.allSettled(mine.map((connection) => connection.quit()));
          // Only where QUIT did not end it (Redis away): a disconnect after it would wait 2 s for a close already past.
          for (const connection of mine) if (connection.status !== 'end') connection.disconnect();
        },
      });
    },
  };
}
