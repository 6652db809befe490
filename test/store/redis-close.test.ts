/**
 * A connection of the Redis store closed while Redis is away (its socket closed, ioredis waiting
 * to connect again) leaves nothing that keeps Node running: ioredis's own `disconnect()` then
 * arms a 2 s timer for a socket 'close' that already happened. The real Redis at 127.0.0.1:6379,
 * reached through a TCP proxy the test closes.
 */
import { createHook } from 'node:async_hooks';
import { get } from 'node:http';
import { Redis } from 'ioredis';
import type { WSServer } from '../../src/server/ws-server';
import { redisStore } from '../../src/store/redis';
import { disconnectConnection, quitConnection } from '../../src/store/redis/connect';
import { createOpenAITestServer, type OpenAITestServer } from '../../src/testing/node';
import { isolatedRedisKeys, TEST_REDIS_URL } from '../utils/redis';
import { createTcpProxy, type TcpProxy } from '../utils/tcp-proxy';
import { startServerFor } from '../utils/test-server';
import { waitUntilTrue } from '../utils/wait-until';

const keys = isolatedRedisKeys();
let proxy: TcpProxy;
let connections: Redis[] = [];
let server: WSServer | undefined;
let upstream: OpenAITestServer | undefined;

beforeEach(async () => {
  proxy = await createTcpProxy(Number(new URL(TEST_REDIS_URL).port || 6379));
});
afterEach(async () => {
  // Not ioredis's disconnect(): on a connection that waits to connect again it would leave the very timer looked for.
  for (const connection of connections) disconnectConnection(connection);
  connections = [];
  await server?.stop();
  server = undefined;
  await upstream?.close();
  upstream = undefined;
  await proxy.close();
});

/**
 * Where the timers that `close` starts were started, for those still armed once it resolved:
 * each would keep Node running (a test worker, a server's process) until it fires.
 */
async function timersLeftBy(close: () => unknown): Promise<string[]> {
  const armed = new Map<number, string>();
  const hook = createHook({
    init: (id, type) => {
      if (type === 'Timeout') armed.set(id, new Error().stack ?? '');
    },
    // A timer cleared or run is destroyed: its destroy is told from a queue, after the turn that did it.
    destroy: (id) => armed.delete(id),
  }).enable();
  try {
    await close();
    for (let turn = 0; turn < 3; turn++) await new Promise((resolve) => setImmediate(resolve));
  } finally {
    hook.disable();
  }
  return [...armed.values()];
}

/** A connection to the Redis behind the proxy, once it is ready. */
async function connectThroughProxy(enableOfflineQueue: boolean): Promise<Redis> {
  const connection = new Redis(`redis://127.0.0.1:${proxy.port}`, {
    protocol: 2,
    maxRetriesPerRequest: 0,
    enableOfflineQueue,
  });
  connections.push(connection);
  await new Promise((resolve) => connection.once('ready', resolve));
  return connection;
}

/** The store's status on `/health`, asked on a connection of its own (no keep-alive left behind). */
function storeStatus(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: '/health', agent: false }, (response) => {
      let body = '';
      response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve((JSON.parse(body) as { store: { status: string } }).store.status));
    }).on('error', reject);
  });
}

describe("closing the Redis store's connections while Redis is away", () => {
  it.each([
    ["quitConnection, without an offline queue (the store's own connections)", false, quitConnection],
    ['quitConnection, with an offline queue (attachments, quota counter, bindings)', true, quitConnection],
    ['disconnectConnection (the end of a follow)', true, disconnectConnection],
  ])('%s leaves no timer armed', async (_, enableOfflineQueue, close) => {
    const connection = await connectThroughProxy(enableOfflineQueue);
    await proxy.close();
    await waitUntilTrue(() => connection.status === 'reconnecting', 5000, 5);
    expect(await timersLeftBy(() => close(connection))).toEqual([]);
  });

  it('leaves no timer armed when a WSServer on redisStore stops while Redis is away', async () => {
    upstream = await createOpenAITestServer();
    server = await startServerFor(upstream, {
      store: redisStore({ url: `redis://127.0.0.1:${proxy.port}`, prefix: keys.prefix, leaseMs: 1000 }),
    });
    const port = server.port as number;
    expect(await storeStatus(port)).toBe('ok');
    await proxy.close();
    // Its subscriber saw the socket close: the store's connections wait to connect again.
    await waitUntilTrue(async () => (await storeStatus(port)) === 'unavailable', 5000, 20);
    const stopping = server;
    server = undefined;
    expect(await timersLeftBy(() => stopping.stop())).toEqual([]);
  });
});
