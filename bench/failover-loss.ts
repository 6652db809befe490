/**
 * What a Redis Cluster failover loses of a session log (docs/SCALING.md quotes it): sessions
 * append to their logs as llm-ws does (XADD, each session's appends in order, one every
 * `--interval-ms`), the master of a slot that holds some of them is killed (SIGKILL), its replica
 * takes over, and every append the old master acknowledged is looked for on the new one. What
 * is missing was acknowledged but not yet replicated: Redis replication is asynchronous.
 *
 *   npx tsx bench/failover-loss.ts [--rounds=3] [--sessions=200] [--interval-ms=20]
 */
import { Cluster } from 'ioredis';
import { clusterSettings } from '../src/store/redis/connect';
import { startRedisCluster } from '../test/utils/redis-cluster';

const arg = (name: string, fallback: number): number =>
  Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
const rounds = arg('rounds', 3);
const sessions = arg('sessions', 200);
const intervalMs = arg('interval-ms', 20);

interface RoundResult {
  /** Sessions whose slot the killed master served. */
  sessionsOnKilled: number;
  /** Appends acknowledged by the killed master over the whole round. */
  acknowledged: number;
  /** Of those, not on the new master. */
  lost: number;
  /** The most any one session lost. */
  worstSessionLost: number;
  /** How long the killed master's slots took writes again after the kill, in ms. */
  unavailableMs: number;
}

async function round(): Promise<RoundResult> {
  const cluster = await startRedisCluster({ nodeTimeoutMs: 2000 });
  const redis = new Cluster(
    cluster.startupNodes.map(({ host, port }) => ({ host, port })),
    clusterSettings({ protocol: 2, maxRetriesPerRequest: 0, commandTimeout: 1000 }),
  );
  redis.on('error', () => undefined);
  try {
    await new Promise((resolve) => redis.once('ready', resolve));
    const keys = Array.from({ length: sessions }, (_, i) => `failover-loss:{s${i}}:log`);
    const killedSlot = await redis.cluster('KEYSLOT', keys[0] as string);
    const killed = await cluster.masterOf(killedSlot);
    const onKilled = new Set<string>();
    for (const key of keys)
      if ((await cluster.masterOf(await redis.cluster('KEYSLOT', key))).port === killed.port) onKilled.add(key);
    const acked = new Map<string, number[]>(keys.map((key) => [key, []]));
    let stopping = false;
    let killedAt = 0;
    let backAt = 0;
    const writers = keys.map(async (key) => {
      for (let seq = 1; !stopping; seq++) {
        const sentAt = Date.now();
        try {
          await redis.xadd(key, `${seq}-0`, 'f', `chunk ${seq}`);
          acked.get(key)?.push(seq);
          if (killedAt && !backAt && onKilled.has(key) && sentAt > killedAt) backAt = Date.now();
        } catch {
          // the master is gone: this seq was not acknowledged; the next is tried
        }
        await new Promise((resolve) => setTimeout(resolve, intervalMs));
      }
    });
    await new Promise((resolve) => setTimeout(resolve, 2000));
    killedAt = Date.now();
    await killed.kill();
    await cluster.waitForHealthy({ slot: killedSlot, notPort: killed.port });
    while (!backAt) await new Promise((resolve) => setTimeout(resolve, 50));
    // A little more after the new master took over, then stop.
    await new Promise((resolve) => setTimeout(resolve, 500));
    stopping = true;
    await Promise.all(writers);
    let acknowledged = 0;
    let lost = 0;
    let worstSessionLost = 0;
    for (const key of onKilled) {
      const held = new Set((await redis.xrange(key, '-', '+')).map(([id]) => Number.parseInt(id, 10)));
      const mine = acked.get(key) ?? [];
      const missing = mine.filter((seq) => !held.has(seq)).length;
      acknowledged += mine.length;
      lost += missing;
      worstSessionLost = Math.max(worstSessionLost, missing);
    }
    return { sessionsOnKilled: onKilled.size, acknowledged, lost, worstSessionLost, unavailableMs: backAt - killedAt };
  } finally {
    redis.disconnect();
    await cluster.stop();
  }
}

async function main(): Promise<void> {
  const results: RoundResult[] = [];
  for (let i = 0; i < rounds; i++) {
    const result = await round();
    results.push(result);
    process.stderr.write(`round ${i + 1}: ${JSON.stringify(result)}\n`);
  }
  console.log(
    `${sessions} sessions, one append each every ${intervalMs} ms, master killed (SIGKILL), cluster-node-timeout 2000 ms`,
  );
  console.log(
    '| round | sessions on the killed master | appends it acknowledged | lost | most lost by one session | its slots unwritable for |',
  );
  console.log('|---|---|---|---|---|---|');
  results.forEach((r, i) =>
    console.log(
      `| ${i + 1} | ${r.sessionsOnKilled} | ${r.acknowledged} | ${r.lost} | ${r.worstSessionLost} | ${(r.unavailableMs / 1000).toFixed(1)} s |`,
    ),
  );
}

void main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
