/**
 * Which Redis `llm-ws serve` shares its sessions through: one Redis (`--redis-url`), a Redis
 * Cluster (`--redis-cluster`) or the master of some Sentinels (`--redis-sentinel`), each also
 * from the environment. A flag given on the command line wins over the environment.
 */
import { InvalidArgumentError } from 'commander';
import { parseNodeList, type RedisNodeAddress } from '../store/redis/connect';
import { redisAttachmentStore, redisConversationBindings, redisQuotaCounter, redisStore } from '../store/redis';
import type { ConversationBindings, QuotaCounter } from '../core/ports';
import type { SessionStore } from '../store/types';
import { sqlitePathIn, sqliteStore } from '../store/sqlite';
import { postgresRecords, postgresStore } from '../store/postgres';

/** Where `llm-ws serve` keeps its data (the SQLite file) unless `--data-dir` says. */
export const DEFAULT_DATA_DIR = './.llm-ws';

/** The store flags of `llm-ws serve` without Redis. */
export interface LocalStoreFlags {
  /** `sqlite` (the default: conversations outlive the process) or `memory` (they do not). */
  store: 'sqlite' | 'memory';
  dataDir: string;
  /** Keep conversations in this PostgreSQL database instead (wins over `--store`). */
  postgresUrl?: string;
}

/** Where a PostgreSQL URL points, for the start-up line: the URL may carry a password. */
const postgresPlace = (url: string): string => {
  const { host, pathname } = new URL(url);
  return `${host}${pathname}`;
};

/** The store of a `llm-ws serve` without Redis, and the line that says so; none for the memory store. */
export function localStore(flags: LocalStoreFlags): { store: SessionStore; description: string } | undefined {
  if (flags.postgresUrl !== undefined) {
    return {
      store: postgresStore({ url: flags.postgresUrl }),
      description: `conversations kept in PostgreSQL at ${postgresPlace(flags.postgresUrl)}`,
    };
  }
  if (flags.store === 'memory') return undefined;
  const path = sqlitePathIn(flags.dataDir);
  return {
    store: sqliteStore({ path }),
    description: `conversations kept in ${path} (SQLite; --store memory for none)`,
  };
}

/** The store flags of `llm-ws serve`, as commander parsed them. */
export interface RedisFlags {
  redisUrl?: string;
  redisCluster?: string;
  redisSentinel?: string;
  redisSentinelName?: string;
  redisPrefix: string;
  redisLease: number;
  redisCommandTimeout: number;
}

/** Where each flag's value came from (commander's `getOptionValueSource`). */
export type FlagSource = (flag: keyof RedisFlags) => string | undefined;

/** A Redis URL as a user may mistype it: say so before anything starts. */
export function redisUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError(`expected a URL such as redis://127.0.0.1:6379, got "${value}"`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:')
    throw new InvalidArgumentError(`expected a redis:// or rediss:// URL, got "${value}"`);
  return value;
}

/** A PostgreSQL URL, checked before anything starts. */
export function postgresUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError(`expected a URL such as postgres://postgres@127.0.0.1:5432/llmws, got "${value}"`);
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:')
    throw new InvalidArgumentError(`expected a postgres:// or postgresql:// URL, got "${value}"`);
  return value;
}

/** `host:port,host:port` for commander, checked as it is parsed. */
export function nodeList(value: string): string {
  try {
    parseNodeList(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
  return value;
}

/** Environment variables the flags default to: their values were not checked by the option parser. */
const ENVIRONMENT: Partial<Record<keyof RedisFlags, string>> = { redisUrl: 'REDIS_URL', redisCluster: 'REDIS_CLUSTER' };

/** `parse(value)`, its error naming the environment variable the value came from, if it did. */
function checked<T>(flag: keyof RedisFlags, flags: RedisFlags, source: FlagSource, parse: (value: string) => T): T {
  try {
    return parse(flags[flag] as string);
  } catch (error) {
    const variable = source(flag) === 'cli' ? undefined : ENVIRONMENT[flag];
    throw new Error(`${variable ? `${variable}: ` : ''}${(error as Error).message}`, { cause: error });
  }
}

const names = (nodes: readonly RedisNodeAddress[]): string =>
  nodes.map(({ host, port }) => `${host}:${port}`).join(', ');

/**
 * The chosen Redis store and the line that says so, or no Redis at all; throws a message for the
 * user on a contradiction. With `postgresUrl`, Redis coordinates and PostgreSQL keeps the
 * conversations (they outlive a Redis restarted empty).
 */
export function storeFromFlags(
  flags: RedisFlags & Pick<LocalStoreFlags, 'postgresUrl'>,
  source: FlagSource,
):
  | {
      store: SessionStore;
      bindings: () => ConversationBindings;
      quotaCounter: () => QuotaCounter;
      /** Attachments' bytes in the same Redis, so a conversation resumed on another process has them. */
      attachments: () => ReturnType<typeof redisAttachmentStore>;
      description: string;
    }
  | undefined {
  const given = (['redisUrl', 'redisCluster', 'redisSentinel'] as const).filter((flag) => flags[flag] !== undefined);
  const fromCommandLine = given.filter((flag) => source(flag) === 'cli');
  if (fromCommandLine.length > 1) throw new Error('give one of --redis-url, --redis-cluster and --redis-sentinel');
  // The command line wins over the environment; of two from the environment, the cluster wins.
  const chosen = fromCommandLine[0] ?? (given.includes('redisCluster') ? 'redisCluster' : given[0]);
  if (flags.redisSentinelName !== undefined && chosen !== 'redisSentinel')
    throw new Error('--redis-sentinel-name needs --redis-sentinel');
  const { postgresUrl } = flags;
  const common = {
    prefix: flags.redisPrefix,
    leaseMs: flags.redisLease * 1000,
    commandTimeoutMs: flags.redisCommandTimeout,
    ...(postgresUrl === undefined ? {} : { records: () => postgresRecords({ url: postgresUrl }) }),
  };
  const kept = postgresUrl === undefined ? '' : `; conversations kept in PostgreSQL at ${postgresPlace(postgresUrl)}`;
  const where = `(prefix ${flags.redisPrefix})${kept}`;
  switch (chosen) {
    case undefined:
      return undefined;
    case 'redisCluster': {
      const cluster = checked('redisCluster', flags, source, parseNodeList);
      return {
        store: redisStore({ ...common, cluster }),
        bindings: () => redisConversationBindings({ prefix: flags.redisPrefix, cluster }),
        quotaCounter: () => redisQuotaCounter({ prefix: flags.redisPrefix, cluster }),
        attachments: () => redisAttachmentStore({ prefix: flags.redisPrefix, cluster }),
        description: `sessions shared through the Redis Cluster at ${names(cluster)} ${where}`,
      };
    }
    case 'redisSentinel': {
      const sentinels = checked('redisSentinel', flags, source, parseNodeList);
      if (!flags.redisSentinelName)
        throw new Error('--redis-sentinel needs --redis-sentinel-name, the name the Sentinels know the master by');
      return {
        store: redisStore({ ...common, sentinels, name: flags.redisSentinelName }),
        bindings: () =>
          redisConversationBindings({ prefix: flags.redisPrefix, sentinels, name: flags.redisSentinelName as string }),
        quotaCounter: () =>
          redisQuotaCounter({ prefix: flags.redisPrefix, sentinels, name: flags.redisSentinelName as string }),
        attachments: () =>
          redisAttachmentStore({ prefix: flags.redisPrefix, sentinels, name: flags.redisSentinelName as string }),
        description: `sessions shared through the Redis master "${flags.redisSentinelName}" of the Sentinels at ${names(sentinels)} ${where}`,
      };
    }
    case 'redisUrl': {
      const url = checked('redisUrl', flags, source, redisUrl);
      // The URL may carry a password: name only where it points.
      const { host, protocol } = new URL(url);
      return {
        store: redisStore({ ...common, url }),
        bindings: () => redisConversationBindings({ prefix: flags.redisPrefix, url }),
        quotaCounter: () => redisQuotaCounter({ prefix: flags.redisPrefix, url }),
        attachments: () => redisAttachmentStore({ prefix: flags.redisPrefix, url }),
        description: `sessions shared through Redis at ${protocol}//${host} ${where}`,
      };
    }
  }
}
