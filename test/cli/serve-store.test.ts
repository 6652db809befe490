/**
 * Which Redis `llm-ws serve` uses, from its flags and environment: one of --redis-url,
 * --redis-cluster and --redis-sentinel, the command line winning over the environment, and
 * every mistake said before anything starts.
 */
import { nodeList, type RedisFlags, storeFromFlags } from '../../src/cli/serve-store';
import { parseNodeList } from '../../src/store/redis/connect';

const base: RedisFlags = { redisPrefix: 'p:', redisLease: 10, redisCommandTimeout: 2000 };
const fromCli = (): string => 'cli';
const fromEnv = (): string => 'default';

describe('parseNodeList', () => {
  it.each([
    ['127.0.0.1:7000', [{ host: '127.0.0.1', port: 7000 }]],
    [
      'a:1, b:2 ,',
      [
        { host: 'a', port: 1 },
        { host: 'b', port: 2 },
      ],
    ],
    ['[::1]:6379', [{ host: '::1', port: 6379 }]],
  ])('reads %j', (text, nodes) => {
    expect(parseNodeList(text)).toEqual(nodes);
  });

  it.each(['', 'redis:', 'host', 'host:0', 'host:70000', 'host:12x'])('refuses %j', (text) => {
    expect(() => parseNodeList(text)).toThrow(RangeError);
  });
});

describe('storeFromFlags', () => {
  it('uses no Redis when none is named', () => {
    expect(storeFromFlags(base, fromCli)).toBeUndefined();
  });

  it('names a cluster by its nodes and a Sentinel master by its name, never a URL password', () => {
    expect(storeFromFlags({ ...base, redisCluster: 'a:1,b:2' }, fromCli)?.description).toBe(
      'sessions shared through the Redis Cluster at a:1, b:2 (prefix p:)',
    );
    expect(storeFromFlags({ ...base, redisSentinel: 's:26379', redisSentinelName: 'main' }, fromCli)?.description).toBe(
      'sessions shared through the Redis master "main" of the Sentinels at s:26379 (prefix p:)',
    );
    expect(storeFromFlags({ ...base, redisUrl: 'redis://:secret@r:6379' }, fromCli)?.description).toBe(
      'sessions shared through Redis at redis://r:6379 (prefix p:)',
    );
  });

  it('keeps conversations in PostgreSQL under any Redis, naming neither password', () => {
    const postgresUrl = 'postgres://u:secret@db:5432/llmws';
    expect(storeFromFlags({ ...base, redisUrl: 'redis://:secret@r:6379', postgresUrl }, fromCli)?.description).toBe(
      'sessions shared through Redis at redis://r:6379 (prefix p:); conversations kept in PostgreSQL at db:5432/llmws',
    );
    expect(storeFromFlags({ ...base, redisCluster: 'a:1', postgresUrl }, fromCli)?.description).toBe(
      'sessions shared through the Redis Cluster at a:1 (prefix p:); conversations kept in PostgreSQL at db:5432/llmws',
    );
    expect(
      storeFromFlags({ ...base, redisSentinel: 's:26379', redisSentinelName: 'main', postgresUrl }, fromCli)
        ?.description,
    ).toContain('; conversations kept in PostgreSQL at db:5432/llmws');
  });

  it('refuses two Redis flags on the command line, and lets one there win over the environment', () => {
    expect(() => storeFromFlags({ ...base, redisUrl: 'redis://r:6379', redisCluster: 'a:1' }, fromCli)).toThrow(
      'give one of --redis-url, --redis-cluster and --redis-sentinel',
    );
    const source = (flag: string): string => (flag === 'redisUrl' ? 'cli' : 'default');
    expect(storeFromFlags({ ...base, redisUrl: 'redis://r:6379', redisCluster: 'a:1' }, source)?.description).toContain(
      'Redis at redis://r:6379',
    );
    // Both from the environment: the cluster wins.
    expect(
      storeFromFlags({ ...base, redisUrl: 'redis://r:6379', redisCluster: 'a:1' }, fromEnv)?.description,
    ).toContain('Redis Cluster at a:1');
  });

  it('names the environment variable a bad value came from', () => {
    expect(() => storeFromFlags({ ...base, redisCluster: 'nonsense' }, fromEnv)).toThrow(
      'REDIS_CLUSTER: expected host:port, got "nonsense"',
    );
    expect(() => storeFromFlags({ ...base, redisUrl: 'not a url' }, fromEnv)).toThrow(
      'REDIS_URL: expected a URL such as redis://127.0.0.1:6379, got "not a url"',
    );
  });

  it('needs a Sentinel name with Sentinels, and Sentinels with a name', () => {
    expect(() => storeFromFlags({ ...base, redisSentinel: 's:26379' }, fromCli)).toThrow(
      '--redis-sentinel needs --redis-sentinel-name',
    );
    expect(() => storeFromFlags({ ...base, redisSentinelName: 'main' }, fromCli)).toThrow(
      '--redis-sentinel-name needs --redis-sentinel',
    );
  });

  it('checks a node list as commander parses it', () => {
    expect(nodeList('a:1')).toBe('a:1');
    expect(() => nodeList('a')).toThrow('expected host:port, got "a"');
  });
});
