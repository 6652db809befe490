import type { Cluster, Redis, RedisOptions } from 'ioredis';
import type { SessionRecords } from '../../core/ports';
import type { SessionStore } from '../types';
import { connectorFor, quitConnection, type RedisNodeAddress, type RedisTarget } from './connect';
import { watchClusterNodes } from './node-watch';
import { openRedisStore } from './redis-directory';

/** Key prefix unless configured. */
export const DEFAULT_REDIS_PREFIX = 'llm-ws:';
/** How long a process that stops answering keeps its sessions, unless configured (10 s). */
export const DEFAULT_REDIS_LEASE_MS = 10_000;
/**
 * Longest wait for any answer from Redis unless configured, in ms (2 s): past it, Redis counts as
 * hung and is treated as gone until it answers again.
 */
export const DEFAULT_REDIS_COMMAND_TIMEOUT_MS = 2000;
/** The Redis used when neither `url`, `client` nor `REDIS_URL` says otherwise. */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/**
 * An ioredis `Redis` (also one made with `sentinels`) or `Cluster` of yours, for
 * {@link RedisStoreOptions.client}. Typed by the one method llm-ws calls on it, not by ioredis's
 * classes, so that llm-ws's declarations never load ioredis's: since ioredis 6.1 those import the
 * untyped `redis-errors`, which fails a strict `tsc` of every app that imports llm-ws.
 */
export interface RedisClient {
  duplicate(...args: never[]): unknown;
}

/** Settings of {@link redisStore}. */
export interface RedisStoreOptions {
  /** The Redis to use. @default process.env.REDIS_URL, else DEFAULT_REDIS_URL */
  readonly url?: string;
  /**
   * A connection of your own instead of `url`: an ioredis `Redis` (also one made with
   * `sentinels`) or `Cluster`. llm-ws makes its connections with `client.duplicate(...)`, so its
   * settings (nodes, TLS, password, ...) are kept, and adds its own (RESP2, fail fast,
   * `commandTimeoutMs`). It does not use or close `client` itself.
   */
  readonly client?: RedisClient;
  /**
   * Some nodes of a Redis Cluster instead of `url` (the others are found from them), e.g.
   * `[{ host: '10.0.0.1', port: 6379 }]`. For TLS or a password, pass a `Cluster` as `client`.
   */
  readonly cluster?: readonly RedisNodeAddress[];
  /** Redis Sentinels instead of `url`; with `name`, the master they watch. Their master is used, and followed through failovers. */
  readonly sentinels?: readonly RedisNodeAddress[];
  /** The name the `sentinels` know the master by. */
  readonly name?: string;
  /** Prepended to every key and to the pub/sub channel: several deployments can share one Redis. @default DEFAULT_REDIS_PREFIX */
  readonly prefix?: string;
  /**
   * How long a process that stops answering keeps its sessions, in ms: after it, another process
   * takes them over and fails the reply that was running. @default DEFAULT_REDIS_LEASE_MS
   */
  readonly leaseMs?: number;
  /** Longest `start()` waits for Redis, in ms; the server starts regardless, refusing requests until Redis answers. @default 5000 */
  readonly connectTimeoutMs?: number;
  /**
   * Longest wait for any answer from Redis, in ms. A command not answered in time fails; a
   * connection that hears nothing for this long while it waits is dropped and made again. So a
   * hung Redis is treated as gone: resumes close with 1013, new messages get
   * `store_unavailable`, a running reply ends, and `/health` says `unavailable` (a PING every
   * second notices it even when no one asks anything), until Redis answers again.
   * @default DEFAULT_REDIS_COMMAND_TIMEOUT_MS
   */
  readonly commandTimeoutMs?: number;
  /**
   * Where conversations are kept durably, under Redis's live coordination: makes the records
   * (e.g. `() => postgresRecords({ url })`) each time a server opens the store, which closes them
   * when it stops. Every change is written through to them; they keep the conversation list, and
   * a session Redis no longer has (restarted empty, expired) comes back from them, a reply its
   * process did not finish kept as `interrupted`. Redis still holds the claims, leases, bus and
   * the live frame log. @default none: Redis alone keeps the sessions
   */
  readonly records?: () => SessionRecords;
}

/**
 * Connections llm-ws makes itself: RESP2 for stable reply shapes, and fail fast while Redis is
 * away (no offline queue, no retries of a command): a request then gets `store_unavailable` at
 * once instead of hanging. Reconnects go on in the background. `deadlineMs` bounds every
 * command, and drops a connection that hears nothing for that long while it waits (a hung Redis
 * then looks like one that went away, and the reconnect notices when it is back).
 */
function ownConnection(deadlineMs: number): RedisOptions {
  // On a cluster these are the settings of each node's connection: the deadline holds per node.
  return { ...SUBSCRIBER_CONNECTION, commandTimeout: deadlineMs, socketTimeout: deadlineMs };
}

/**
 * The pub/sub connection: no deadline. It is silent between messages by nature; with one, after a
 * Redis restart it was dropped again and again (ioredis still counted a command pending on it),
 * losing what was published meanwhile. A hang of Redis is noticed on the command connection; this
 * one carries on once Redis does.
 */
const SUBSCRIBER_CONNECTION: RedisOptions = { protocol: 2, maxRetriesPerRequest: 0, enableOfflineQueue: false };

/** How often an idle process checks that Redis answers (a PING), at most: a hang is noticed within this and the deadline. */
const PROBE_INTERVAL_MS = 1000;

/** Longest a follow's XREAD blocks: short enough to check often that the writer lives. */
const followBlockMs = (leaseMs: number): number => Math.min(1000, Math.max(50, leaseMs / 2));

/** The one Redis (or cluster, or Sentinel set) the options name; throws on more than one. */
export function targetOf(
  options: Pick<RedisStoreOptions, 'url' | 'client' | 'cluster' | 'sentinels' | 'name'>,
): RedisTarget {
  const named = [options.url, options.client, options.cluster, options.sentinels].filter(
    (value) => value !== undefined,
  ).length;
  if (named > 1) throw new RangeError('give one of url, client, cluster and sentinels');
  if (options.sentinels && !options.name) throw new RangeError('sentinels needs the name of the master they watch');
  if (options.name && !options.sentinels) throw new RangeError('name is the master of sentinels: give sentinels too');
  if (options.client) {
    if (typeof options.client.duplicate !== 'function')
      throw new TypeError('client must be an ioredis Redis or Cluster');
    return { client: options.client as Redis | Cluster };
  }
  if (options.cluster) return { cluster: options.cluster };
  if (options.sentinels) return { sentinels: options.sentinels, name: options.name as string };
  // Read when the store opens: a server made before REDIS_URL was set still uses it.
  return { url: options.url ?? process.env.REDIS_URL ?? DEFAULT_REDIS_URL };
}

/**
 * Sessions in Redis, shared by every server process that uses the same Redis and prefix: a
 * client can reconnect to any of them and resume, even mid-reply (see docs/SCALING.md). Each
 * principal's conversations are listed, opened, renamed and deleted from any of them. Redis keeps
 * them only as long as the session TTL (and its persistence settings) allow, unless `records`
 * keeps them durably (PostgreSQL: they survive a Redis restarted empty).
 *
 * ```ts
 * new WSServer({ store: redisStore({ url: 'redis://redis:6379' }) });
 * new WSServer({ store: redisStore({ url: 'redis://redis:6379', records: () => postgresRecords({ url: 'postgres://db/llmws' }) }) });
 * new WSServer({ store: redisStore({ cluster: [{ host: '10.0.0.1', port: 6379 }] }) });
 * new WSServer({ store: redisStore({ sentinels: [{ host: '10.0.0.5', port: 26379 }], name: 'mymaster' }) });
 * ```
 */
export function redisStore(options: RedisStoreOptions = {}): SessionStore {
  const leaseMs = options.leaseMs ?? DEFAULT_REDIS_LEASE_MS;
  if (!Number.isFinite(leaseMs) || leaseMs < 100) throw new RangeError(`leaseMs must be at least 100, got ${leaseMs}`);
  const prefix = options.prefix ?? DEFAULT_REDIS_PREFIX;
  const commandTimeoutMs = options.commandTimeoutMs ?? DEFAULT_REDIS_COMMAND_TIMEOUT_MS;
  if (!Number.isFinite(commandTimeoutMs) || commandTimeoutMs < 10)
    throw new RangeError(`commandTimeoutMs must be at least 10, got ${commandTimeoutMs}`);
  const blockMs = followBlockMs(leaseMs);
  // Checked now, so a mistake shows where the store is made rather than when a server starts.
  targetOf(options);
  return {
    kind: 'redis',
    open: (context) => {
      const connect = connectorFor(targetOf(options));
      const redis = connect(ownConnection(commandTimeoutMs));
      const subscriber = connect(SUBSCRIBER_CONNECTION);
      // On a cluster a hung node fails only its slots' commands: /health names it (the store as a whole stays up).
      const nodes = redis.isCluster
        ? watchClusterNodes(redis as Cluster, Math.min(PROBE_INTERVAL_MS, commandTimeoutMs))
        : undefined;
      const parts = openRedisStore(context, {
        redis,
        subscriber,
        // A follow's XREAD blocks up to blockMs by design: its deadline starts after that. Made on demand, so its first XREAD waits for it to connect.
        newConnection: () => connect({ ...ownConnection(blockMs + commandTimeoutMs), enableOfflineQueue: true }),
        prefix,
        leaseMs,
        followBlockMs: blockMs,
        probeIntervalMs: Math.min(PROBE_INTERVAL_MS, commandTimeoutMs),
        connectTimeoutMs: options.connectTimeoutMs ?? 5000,
        ...(options.records ? { records: options.records() } : {}),
        closeConnections: async () => {
          nodes?.stop();
          await Promise.all([subscriber, redis].map(quitConnection));
        },
      });
      return nodes ? { ...parts, unavailableNodes: () => nodes.unavailable() } : parts;
    },
  };
}
