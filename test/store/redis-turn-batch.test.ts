/**
 * The writes of one event-loop turn leave for Redis in one socket write (turn-batch.ts), in the
 * order they were issued, and a reconnect in the middle of a turn leaves nothing corked and
 * nothing acknowledged lost. Runs against the Redis on this machine, under a key prefix of its own.
 */
import { Redis } from 'ioredis';
import type { SessionStoreContext } from '../../src/core/ports';
import { RedisSessionData } from '../../src/store/redis/redis-data';
import { type RedisDirectoryOptions, ServerProcess } from '../../src/store/redis/server-process';
import { RedisPersistence } from '../../src/store/redis/redis-persistence';
import { isolatedRedisKeys, TEST_REDIS_URL } from '../utils/redis';
import { createTcpProxy, type TcpProxy } from '../utils/tcp-proxy';
import { countWrites } from '../utils/count-writes';

const keys = isolatedRedisKeys();
let redis: Redis;
let data: RedisSessionData;
let proxy: TcpProxy | undefined;

/** The store's settings for its command connection (fail fast: no offline queue, no retries). */
async function connectLikeTheStore(url = TEST_REDIS_URL, commandTimeout = 2000): Promise<Redis> {
  const connection = new Redis(url, {
    protocol: 2,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    commandTimeout,
    retryStrategy: () => 10,
  });
  connection.on('error', () => undefined);
  await new Promise((resolve) => connection.once('ready', resolve));
  return connection;
}

/** Runs `work` in the check phase of a later turn (after the turn batch of the current one has left). */
const nextTurn = <T>(work: () => T): Promise<T> =>
  new Promise((resolve, reject) =>
    setImmediate(() => {
      try {
        resolve(work());
      } catch (error) {
        reject(error);
      }
    }),
  );

const seqsIn = async (sessionId: string): Promise<number[]> =>
  (await redis.xrange(data.key(sessionId, 'log'), '-', '+')).map(([id]) => Number.parseInt(id, 10));

beforeEach(async () => {
  redis = await connectLikeTheStore();
  data = new RedisSessionData(redis, keys.prefix, 60_000, 1000);
});
afterEach(async () => {
  proxy?.stallServerToClient(false);
  await redis.quit();
  await proxy?.close();
  proxy = undefined;
});

/** Commands through a proxy that can hold Redis's answers back; `data` writes through it. */
async function throughProxy(commandTimeoutMs: number): Promise<void> {
  await redis.quit();
  proxy = await createTcpProxy(Number(new URL(TEST_REDIS_URL).port || 6379));
  redis = await connectLikeTheStore(`redis://127.0.0.1:${proxy.port}`, commandTimeoutMs);
  data = new RedisSessionData(redis, keys.prefix, 60_000, 1000);
}

describe('RedisSessionData: one write per turn', () => {
  it('sends 50 appends of one turn in one write, in order', async () => {
    const writes = countWrites(redis.stream);
    const appended = Array.from({ length: 50 }, (_, i) => data.append('s', i + 1, `frame ${i + 1}`));
    expect(writes()).toBe(0);
    await Promise.all(appended);
    expect(writes()).toBe(1);
    expect(await seqsIn('s')).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  });

  it("sends a batch when its turn ends: the next turn's writes go in a write of their own", async () => {
    const writes = countWrites(redis.stream);
    const first = [1, 2, 3].map((seq) => data.append('s', seq, `f${seq}`));
    const second = await nextTurn(() => {
      // The first turn's batch has left already: before any reply is awaited.
      expect(writes()).toBe(1);
      return [4, 5].map((seq) => data.append('s', seq, `f${seq}`));
    });
    await Promise.all([...first, ...second]);
    expect(writes()).toBe(2);
    expect(await seqsIn('s')).toEqual([1, 2, 3, 4, 5]);
  });

  it('sends a batch once the previous one is answered: the writes of the turns meanwhile go together', async () => {
    await throughProxy(5000);
    const writes = countWrites(redis.stream);
    proxy?.stallServerToClient(true);
    const first = [1, 2].map((seq) => data.append('s', seq, `f${seq}`));
    const second = await nextTurn(() => [3, 4].map((seq) => data.append('s', seq, `f${seq}`)));
    const third = await nextTurn(() => [5].map((seq) => data.append('s', seq, `f${seq}`)));
    // Two more turns have ended: the first batch is unanswered, so the others wait.
    await nextTurn(() => undefined);
    await nextTurn(() => undefined);
    expect(writes()).toBe(1);
    proxy?.stallServerToClient(false);
    await Promise.all([...first, ...second, ...third]);
    expect(writes()).toBe(2);
    expect(await seqsIn('s')).toEqual([1, 2, 3, 4, 5]);
  });

  it('fails a held command at its own deadline when Redis stops answering, as an unbatched one', async () => {
    await throughProxy(300);
    proxy?.stallServerToClient(true);
    const started = Date.now();
    const first = data.append('s', 1, 'one');
    const held = await nextTurn(() => [data.append('s', 2, 'two')]);
    const outcomes = await Promise.allSettled([first, ...held]);
    expect(outcomes.map((outcome) => outcome.status === 'rejected' && String(outcome.reason))).toEqual([
      expect.stringMatching(/timed out/i),
      expect.stringMatching(/timed out/i),
    ]);
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('keeps appends in order with the other commands of the turn (trim on ack, history, busy, reads)', async () => {
    const writes = countWrites(redis.stream);
    const done = [
      data.append('s', 1, 'one'),
      data.append('s', 2, 'two'),
      data.acknowledged('s', 2),
      data.append('s', 3, 'three'),
      data.writeHistory('s', [{ role: 'user', content: 'hi' }]),
      data.setBusy('s', 'r1'),
      data.setBusy('s', undefined),
    ];
    // A read issued after the writes of the turn sees them all.
    const [range] = await Promise.all([data.framesAfter('s', 0), ...done]);
    expect(writes()).toBe(1);
    expect(range).toEqual({ gap: { oldestHeld: 3 } });
    expect(await data.framesAfter('s', 2)).toEqual({ frames: [{ seq: 3, text: 'three' }] });
    expect(await data.lastSeq('s')).toBe(3);
    expect(await data.readHistory('s')).toEqual([{ role: 'user', content: 'hi' }]);
    expect(await redis.hget(data.key('s', 'meta'), 'busy')).toBeNull();
  });

  it.each([
    ['the socket is destroyed', (connection: Redis) => connection.stream.destroy()],
    ['ioredis drops and remakes the connection', (connection: Redis) => connection.disconnect(true)],
  ])('a reconnect mid-turn (%s) leaves no socket corked and loses nothing acknowledged', async (_, breakIt) => {
    await data.append('s', 1, 'before');
    const old = redis.stream;
    const pending = [2, 3, 4].map((seq) => data.append('s', seq, `f${seq}`));
    expect(old.writableCorked).toBe(1);
    breakIt(redis);
    // Not sent, or sent and answered: every append either fails or is in the log.
    const outcomes = await Promise.allSettled(pending);
    await new Promise((resolve) => redis.once('ready', resolve));
    expect(redis.stream).not.toBe(old);
    expect(old.writableCorked).toBe(0);
    expect(redis.stream.writableCorked).toBe(0);
    const acknowledged = outcomes.flatMap((outcome, i) => (outcome.status === 'fulfilled' ? [i + 2] : []));
    const held = await seqsIn('s');
    expect(held).toEqual(expect.arrayContaining([1, ...acknowledged]));
    // The new connection batches its turns too.
    const writes = countWrites(redis.stream);
    const next = (held[held.length - 1] as number) + 1;
    await Promise.all([data.append('s', next, 'after'), data.append('s', next + 1, 'after')]);
    expect(writes()).toBe(1);
    expect(redis.stream.writableCorked).toBe(0);
  });

  it('never corks a socket that is no longer writable, and never throws from a write of a turn', async () => {
    redis.stream.destroy();
    await expect(data.append('s', 1, 'lost')).rejects.toThrow();
    expect(redis.stream.writableCorked).toBe(0);
    await new Promise((resolve) => redis.once('ready', resolve));
    await data.append('s', 1, 'kept');
    expect(await seqsIn('s')).toEqual([1]);
  });
});

describe('RedisPersistence: expiry is renewed per interval, not per frame', () => {
  const TTL_MS = 60_000;

  it('renews the keys on the first frame, then once a quarter of the TTL has passed', async () => {
    const context = { ttlMs: TTL_MS, replayMaxMessages: 1000, logger: console } as unknown as SessionStoreContext;
    const node = new ServerProcess(context, { redis, prefix: keys.prefix } as unknown as RedisDirectoryOptions);
    const touch = jest.spyOn(node.data, 'touch');
    const now = jest.spyOn(Date, 'now');
    try {
      const start = 1_000_000;
      now.mockReturnValue(start);
      const writer = new RedisPersistence(node, 's', 'hash', null, 0, [], []);
      for (let seq = 1; seq <= 100; seq++) writer.frameAppended(seq, `f${seq}`);
      expect(touch).toHaveBeenCalledTimes(1);
      now.mockReturnValue(start + TTL_MS / 4 - 1);
      for (let seq = 101; seq <= 200; seq++) writer.frameAppended(seq, `f${seq}`);
      expect(touch).toHaveBeenCalledTimes(1);
      now.mockReturnValue(start + TTL_MS / 4);
      for (let seq = 201; seq <= 300; seq++) writer.frameAppended(seq, `f${seq}`);
      expect(touch).toHaveBeenCalledTimes(2);
      now.mockRestore();
      // The writes (fire and forget) have all been answered once a later read is.
      expect(await data.lastSeq('s')).toBe(300);
      expect(await redis.pttl(node.data.key('s', 'log'))).toBeGreaterThan(0);
    } finally {
      now.mockRestore();
    }
  });
});
