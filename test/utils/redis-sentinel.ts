/**
 * A Redis Sentinel set-up of a test's own, on loopback: a master, its replica and 3 Sentinels.
 * Every process it starts is stopped by `stop()`, which a test calls in `afterAll` (also when it
 * failed).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { answersPing, ask, freePorts, type HostPort, infoFields, type RedisProcess, spawnRedis } from './redis-cluster';
import { waitUntilTrue } from './wait-until';

/** A master with one replica, watched by 3 Sentinels (quorum 2), on loopback. */
export interface OwnSentinelSetup {
  /** The name the Sentinels know the master by. */
  readonly name: string;
  readonly sentinels: readonly HostPort[];
  readonly servers: readonly RedisProcess[];
  /** The server that is master now, as the Sentinels say. */
  master(): Promise<RedisProcess>;
  /** Asks a Sentinel to fail the master over now (SENTINEL FAILOVER) and resolves once every Sentinel names the other server, which says it is master. */
  failover(): Promise<RedisProcess>;
  /** Resolves once the Sentinels name a master that is not on `notPort` and which answers as master. */
  waitForMaster(notPort?: number, timeoutMs?: number): Promise<RedisProcess>;
  stop(): Promise<void>;
}

/** Starts a master, its replica and 3 Sentinels, and waits until the Sentinels see both servers. */
export async function startSentinelSetup(options: { readonly downAfterMs?: number } = {}): Promise<OwnSentinelSetup> {
  const dir = mkdtempSync(join(tmpdir(), 'llm-ws-sentinel-'));
  const name = 'llmws';
  const [masterPort, replicaPort, ...sentinelPorts] = (await freePorts(5)) as [number, number, number, number, number];
  const processes: RedisProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(processes.map((node) => node.kill()));
    rmSync(dir, { recursive: true, force: true });
  };
  const serverArgs = (port: number): string[] => [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    'no',
    '--protected-mode',
    'no',
  ];
  const servers = [
    spawnRedis(serverArgs(masterPort), masterPort),
    spawnRedis([...serverArgs(replicaPort), '--replicaof', '127.0.0.1', String(masterPort)], replicaPort),
  ];
  processes.push(...servers);
  const sentinels: RedisProcess[] = [];
  try {
    await Promise.all(servers.map((server) => waitUntilTrue(() => answersPing(server), 10_000, 50)));
    for (const port of sentinelPorts) {
      const file = join(dir, `sentinel-${port}.conf`);
      // Sentinel rewrites its config file: each needs one of its own.
      writeFileSync(
        file,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          'protected-mode no',
          `sentinel monitor ${name} 127.0.0.1 ${masterPort} 2`,
          `sentinel down-after-milliseconds ${name} ${options.downAfterMs ?? 1000}`,
          `sentinel failover-timeout ${name} 10000`,
          `sentinel parallel-syncs ${name} 1`,
          '',
        ].join('\n'),
      );
      const sentinel = spawnRedis([file, '--sentinel'], port);
      sentinels.push(sentinel);
      processes.push(sentinel);
    }
    await Promise.all(sentinels.map((sentinel) => waitUntilTrue(() => answersPing(sentinel), 10_000, 50)));
  } catch (error) {
    await stop();
    throw error;
  }
  const serverOn = (port: number): RedisProcess => {
    const server = servers.find((candidate) => candidate.port === port);
    if (!server) throw new Error(`no server of this set-up on port ${port}`);
    return server;
  };
  const namedMaster = async (): Promise<number | undefined> => {
    for (const sentinel of sentinels.filter((candidate) => candidate.running())) {
      try {
        const [, port] = (await ask(sentinel, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name)) as [string, string];
        return Number(port);
      } catch {
        // ask the next
      }
    }
    return undefined;
  };
  const waitForMaster = async (notPort?: number, timeoutMs = 30_000, replicaLinked = false): Promise<RedisProcess> => {
    let found: number | undefined;
    await waitUntilTrue(
      async () => {
        found = await namedMaster();
        if (found === undefined || found === notPort) return false;
        const replication = infoFields(String(await ask(serverOn(found), 'INFO', 'replication').catch(() => '')));
        if (replication.get('role') !== 'master') return false;
        // Every Sentinel agrees (and at start, the replica follows the master).
        for (const sentinel of sentinels.filter((candidate) => candidate.running())) {
          const [, port] = (await ask(sentinel, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name).catch(
            () => [],
          )) as string[];
          if (Number(port) !== found) return false;
        }
        for (const server of servers.filter(
          (candidate) => replicaLinked && candidate.running() && candidate.port !== found,
        )) {
          const other = infoFields(String(await ask(server, 'INFO', 'replication').catch(() => '')));
          if (other.get('master_port') !== String(found) || other.get('master_link_status') !== 'up') return false;
        }
        return true;
      },
      timeoutMs,
      100,
    );
    return serverOn(found as number);
  };
  const setup: OwnSentinelSetup = {
    name,
    sentinels: sentinels.map(({ host, port }) => ({ host, port })),
    servers,
    master: async () => serverOn((await namedMaster()) as number),
    waitForMaster,
    failover: async () => {
      const before = await namedMaster();
      await ask(sentinels[0] as RedisProcess, 'SENTINEL', 'FAILOVER', name);
      return waitForMaster(before);
    },
    stop,
  };
  try {
    await waitForMaster(undefined, 30_000, true);
    // A Sentinel can fail over only once it knows the replica and the other Sentinels.
    await waitUntilTrue(
      async () => {
        for (const sentinel of sentinels) {
          const replicas = (await ask(sentinel, 'SENTINEL', 'REPLICAS', name).catch(() => [])) as unknown[];
          const others = (await ask(sentinel, 'SENTINEL', 'SENTINELS', name).catch(() => [])) as unknown[];
          if (replicas.length < 1 || others.length < 2) return false;
        }
        return true;
      },
      30_000,
      100,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return setup;
}
