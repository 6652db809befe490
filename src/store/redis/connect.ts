/**
 * The connections the Redis store makes: to one Redis (a URL or a client of yours), to a Redis
 * Cluster (its nodes, or an ioredis `Cluster` of yours), or to the master a set of Sentinels
 * names. Everything else in the store runs on what these return, whichever it is.
 */
import type { Cluster, ClusterOptions, Redis, RedisOptions } from 'ioredis';
import type * as IORedis from 'ioredis';
import { lazyRequire } from '../../util/lazy-require';

/** ioredis, loaded by the first store that connects (not by `import { WSClient } from 'llm-ws'`). */
const ioredis = lazyRequire('ioredis') as () => typeof IORedis;

/** A connection the store runs commands on: one Redis (standalone or through Sentinel), or a Cluster. */
export type StoreConnection = Redis | Cluster;

/** Whether a connection is a Cluster: ioredis's own flag, so ioredis need not be loaded to ask. */
export const isCluster = (connection: StoreConnection): connection is Cluster => connection.isCluster;

/** A node address: `{ host, port }`. */
export interface RedisNodeAddress {
  readonly host: string;
  readonly port: number;
}

/** Where the store's Redis is: exactly one of these. */
export type RedisTarget =
  | { readonly url: string }
  /** Duplicated for each connection the store needs, keeping your settings (TLS, password, Sentinels, cluster nodes). */
  | { readonly client: StoreConnection }
  /** Some nodes of a Redis Cluster: the rest are found from them. */
  | { readonly cluster: readonly RedisNodeAddress[] }
  /** Sentinels that know the master by `name`. */
  | { readonly sentinels: readonly RedisNodeAddress[]; readonly name: string };

/** Makes one connection of the store with the store's settings on top of the target's. */
export type Connector = (settings: RedisOptions) => StoreConnection;

/**
 * A master that a failover made a replica answers writes with READONLY until the connection is
 * made again (then Sentinel names the new master): reconnect on it, and fail only that command.
 */
const reconnectIfReadOnly = (error: Error): boolean => error.message.startsWith('READONLY');

/**
 * Sentinel settings on top of the store's. A failover closes the clients of the old master (or
 * they get READONLY): the connection is then made again to the master the Sentinels name.
 * ioredis's `failoverDetector` would switch a little sooner, but in ioredis 6 its Sentinel
 * connections outlive `disconnect()` (a stopped server kept Node running).
 */
const SENTINEL_SETTINGS: RedisOptions = { failoverDetector: false, reconnectOnError: reconnectIfReadOnly };

/**
 * Cluster settings from the store's connection settings. Each node connection gets `settings`
 * (so the command deadline holds per node: a hung node fails its own commands, not the others').
 * The cluster itself follows MOVED/ASK, and after a master's connection closed (a failover)
 * it refreshes the slot map and sends the command again to whoever serves the slot now.
 */
export function clusterSettings(settings: RedisOptions): ClusterOptions {
  return {
    redisOptions: { ...settings, reconnectOnError: reconnectIfReadOnly },
    enableOfflineQueue: settings.enableOfflineQueue ?? true,
    scaleReads: 'master',
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 200,
    retryDelayOnTryAgain: 100,
    // A failover takes the cluster node timeout and an election: give a command a few seconds of redirections.
    maxRedirections: 16,
    slotsRefreshTimeout: Math.max(1000, settings.commandTimeout ?? 1000),
    slotsRefreshInterval: 1000,
    // Keep trying to reach the cluster while it is away, as a single connection does.
    clusterRetryStrategy: (times) => Math.min(100 * times, 2000),
  };
}

/**
 * ioredis connects to a cluster node on the first command for it; a command sent while that
 * connection is still being made fails when the cluster has no offline queue (the store's
 * fail-fast setting). Connecting to each node as soon as the cluster names it avoids that.
 */
function eagerNodes(cluster: Cluster): Cluster {
  cluster.on('+node', (node: Redis) => {
    if (node.status === 'wait') node.connect().catch(() => undefined);
  });
  return cluster;
}

/** How the store makes its connections for `target`. */
export function connectorFor(target: RedisTarget): Connector {
  if ('client' in target) {
    const { client } = target;
    if (isCluster(client)) {
      return (settings) => {
        const mine = clusterSettings(settings);
        // Connected now even if yours waits for its first command (lazyConnect): the store waits for `ready`.
        return eagerNodes(
          client.duplicate([], {
            ...mine,
            lazyConnect: false,
            redisOptions: { ...client.options.redisOptions, ...mine.redisOptions },
          }),
        );
      };
    }
    return (settings) =>
      client.duplicate({ ...(client.options.sentinels ? SENTINEL_SETTINGS : {}), ...settings, lazyConnect: false });
  }
  if ('cluster' in target) {
    if (target.cluster.length === 0) throw new RangeError('cluster needs at least one node');
    const nodes = target.cluster.map(({ host, port }) => ({ host, port }));
    return (settings) => eagerNodes(new (ioredis().Cluster)(nodes, clusterSettings(settings)));
  }
  if ('sentinels' in target) {
    if (target.sentinels.length === 0) throw new RangeError('sentinels needs at least one Sentinel');
    const sentinels = target.sentinels.map(({ host, port }) => ({ host, port }));
    return (settings) => new (ioredis().Redis)({ ...SENTINEL_SETTINGS, ...settings, sentinels, name: target.name });
  }
  return (settings) => new (ioredis().Redis)(target.url, settings);
}

/**
 * Ends a connection the store made, for good: QUIT (Redis answers what it was sent first), then
 * a disconnect where that did not end it. Not QUIT while ioredis waits to connect again (Redis
 * away): it has nothing to send it on.
 */
export async function quitConnection(connection: StoreConnection): Promise<void> {
  if (connection.status !== 'reconnecting') await connection.quit().catch(() => undefined);
  disconnectConnection(connection);
}

/**
 * Disconnects a connection the store made, and stops it connecting again. ioredis 6.0's
 * `disconnect()` ends the socket and arms a timer (`disconnectTimeout`, 2 s) that the socket's
 * 'close' clears; a connection waiting to connect again (Redis away) holds a socket that closed
 * already, so that timer kept Node running 2 s after a store closed. Its 'close' is told again
 * then: only that timer listens (ioredis's own listener ran once, at the close). ioredis 6.1
 * ends such a connection without the timer; there the 'close' told again finds no listener.
 */
export function disconnectConnection(connection: StoreConnection): void {
  if (connection.status === 'end') return;
  const closedSocket = !isCluster(connection) && connection.status === 'reconnecting' ? connection.stream : undefined;
  connection.disconnect();
  closedSocket?.emit('close', false);
}

/** Reads `host:port,host:port` (a CLI flag or an environment variable) as node addresses. */
export function parseNodeList(text: string): RedisNodeAddress[] {
  const nodes = text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map((part) => {
      const match = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(part);
      const port = Number(match?.[2]);
      if (!match || port < 1 || port > 65535) throw new RangeError(`expected host:port, got "${part}"`);
      return { host: (match[1] as string).replace(/^\[|\]$/g, ''), port };
    });
  if (nodes.length === 0) throw new RangeError('expected at least one host:port');
  return nodes;
}

/** `host:port` of a connection's node, as `/health` names it. */
export const nodeName = (options: { host?: string; port?: number }): string =>
  `${options.host ?? '127.0.0.1'}:${options.port ?? 6379}`;
