/**
 * On a Redis Cluster (3 masters with a replica each, started by this file) the writes of one
 * event-loop turn leave in one socket write per master, each session's in the order made.
 */
import { Cluster } from 'ioredis';
import { clusterSettings } from '../../src/store/redis/connect';
import { RedisSessionData } from '../../src/store/redis/redis-data';
import { uniquePrefix } from '../utils/redis';
import { type OwnRedisCluster, startRedisCluster } from '../utils/redis-cluster';
import { countWrites } from '../utils/count-writes';

let cluster: OwnRedisCluster;
let connection: Cluster;

beforeAll(async () => {
  cluster = await startRedisCluster();
}, 60_000);
afterAll(async () => {
  await cluster?.stop();
});
beforeEach(async () => {
  // The store's settings for its command connection (fail fast, a deadline per command).
  connection = new Cluster(
    [...cluster.startupNodes],
    clusterSettings({ protocol: 2, maxRetriesPerRequest: 0, enableOfflineQueue: false, commandTimeout: 2000 }),
  );
  connection.on('error', () => undefined);
  await new Promise((resolve) => connection.once('ready', resolve));
  // Every master's connection ready, as the store waits for.
  await Promise.all(connection.nodes('master').map((node) => node.ping()));
});
afterEach(async () => {
  await connection.quit();
});

/** Counts the writes (system calls) of each master's socket from now on. */
function countWritesPerMaster(): () => number[] {
  const counts = connection.nodes('master').map((node) => countWrites(node.stream));
  return () => counts.map((count) => count());
}

describe('RedisSessionData on a Redis Cluster: one write per master per turn', () => {
  it("sends the appends of 30 sessions made in one turn in one write to each master, each session's in order", async () => {
    const data = new RedisSessionData(connection, uniquePrefix(), 60_000, 1000);
    const sessions = Array.from({ length: 30 }, (_, i) => `s${i}`);
    const writes = countWritesPerMaster();
    await Promise.all(sessions.map((id) => data.append(id, 1, `${id} one`)));
    // Sessions of every master's slots: each master got exactly one write.
    expect(writes()).toEqual([1, 1, 1]);
    // A session's writes wait for its previous ones to be answered (in later turns): still in order.
    await Promise.all(
      sessions.flatMap((id) => [
        data.append(id, 2, `${id} two`),
        data.acknowledged(id, 1),
        data.append(id, 3, `${id} three`),
      ]),
    );
    for (const id of sessions) {
      expect(await data.framesAfter(id, 1)).toEqual({
        frames: [
          { seq: 2, text: `${id} two` },
          { seq: 3, text: `${id} three` },
        ],
      });
      expect(await data.lastSeq(id)).toBe(3);
    }
  });
});
