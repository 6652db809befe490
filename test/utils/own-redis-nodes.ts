/**
 * The set-up of the tests where Redis itself fails: a redis-server of the test's own (which the
 * test kills, restarts empty, freezes or thaws), the OpenAI test server, and in-process servers
 * on the Redis store with test clients. Call {@link useOwnRedisNodes} at the top of a test file:
 * it starts Redis and the test server before each test and, after it, thaws Redis (nothing stays
 * stopped whatever the test did), closes every client and server, and kills Redis.
 */
import type { ServerMessageOf } from '../../src/protocol/codecs';
import type { WSServer } from '../../src/server/ws-server';
import { redisStore, type RedisStoreOptions } from '../../src/store/redis';
import { createOpenAITestServer, type OpenAITestServer } from '../../src/testing/node';
import { type OwnRedis, startOwnRedis } from './redis-server';
import { startServerFor } from './test-server';
import { connectTestClient, type TestClient, userMessage } from './ws-test-client';

export interface OwnRedisNodes {
  /** This test's redis-server. */
  readonly redis: OwnRedis;
  /** This test's OpenAI-compatible test server. */
  readonly upstream: OpenAITestServer;
  /** A server on the Redis store of {@link redis}, with `storeOptions` from the fixture. */
  readonly startNode: () => Promise<WSServer>;
  /** A test client connected to `server`, once it was greeted. */
  readonly connect: (server: WSServer) => Promise<TestClient>;
  /**
   * Sends `client` the message `q1`, which the model answers with the chunk `'started '` and then
   * silence; resolves with that chunk's frame, once it arrived.
   */
  readonly startStalledReply: (client: TestClient) => Promise<ServerMessageOf<'llm_chunk'>>;
}

/** Registers the hooks; `storeOptions` go to every node's `redisStore` (beside the test's own `url`). */
export function useOwnRedisNodes(storeOptions: Omit<RedisStoreOptions, 'url'> = {}): OwnRedisNodes {
  let redis: OwnRedis | undefined;
  let upstream: OpenAITestServer | undefined;
  let servers: WSServer[] = [];
  let clients: TestClient[] = [];

  beforeEach(async () => {
    upstream = await createOpenAITestServer();
    redis = await startOwnRedis();
  });
  afterEach(async () => {
    redis?.thaw();
    await Promise.all(clients.map((client) => client.close()));
    clients = [];
    await Promise.all(servers.map((server) => server.stop()));
    servers = [];
    await upstream?.close();
    await redis?.kill();
    upstream = undefined;
    redis = undefined;
  });

  const inTest = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('useOwnRedisNodes: only inside a test');
    return value;
  };

  return {
    get redis() {
      return inTest(redis);
    },
    get upstream() {
      return inTest(upstream);
    },
    startNode: async () => {
      const server = await startServerFor(inTest(upstream), {
        store: redisStore({ ...storeOptions, url: inTest(redis).url }),
      });
      servers.push(server);
      return server;
    },
    connect: async (server) => {
      const client = await connectTestClient(server.url as string);
      clients.push(client);
      await client.waitFor('session');
      return client;
    },
    startStalledReply: (client) => {
      inTest(upstream).enqueue({ type: 'stall', chunks: ['started '] });
      client.send(userMessage('q1', 'long story'));
      return client.waitFor('llm_chunk', (m) => m.data.chunk === 'started ');
    },
  };
}
