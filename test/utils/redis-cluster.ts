/**
 * Real Redis Clusters of a test's own, on loopback (and the helpers ./redis-sentinel.ts shares):
 * every process they start is stopped by `stop()`, which a test calls in `afterAll`/`afterEach`
 * (also when it failed).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { waitUntilTrue } from './wait-until';

const run = promisify(execFile);

/** A loopback address with a free port. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** One redis-server (or sentinel) process a test started. */
export interface RedisProcess extends HostPort {
  readonly pid: number;
  /** Kills it (SIGKILL: nothing saved, as in a crash); resolves once it has exited. */
  kill(): Promise<void>;
  /** SIGSTOP: its connections stay open and nothing is answered, as in a hung node. */
  freeze(): void;
  /** SIGCONT; harmless on a process that is not frozen. */
  thaw(): void;
  /** Whether the process still runs. */
  running(): boolean;
}

/** Ports the OS says are free now (on 127.0.0.1), all different. */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, async () => {
      const server = createServer();
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return server;
    }),
  );
  const ports = servers.map((server) => (server.address() as { port: number }).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

/** A throwaway connection that gives up at once: for set-up and checks, never for the code under test. */
export function probeConnection(node: HostPort): Redis {
  const probe = new Redis({
    ...node,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    commandTimeout: 2000,
  });
  probe.on('error', () => undefined);
  return probe;
}

/** Runs one command on a node with a throwaway connection; rejects if the node does not answer. */
export async function ask(node: HostPort, ...args: Array<string | number>): Promise<unknown> {
  const probe = probeConnection(node);
  try {
    await probe.connect();
    return await probe.call(String(args[0]), ...args.slice(1));
  } finally {
    probe.disconnect();
  }
}

export const answersPing = (node: HostPort): Promise<boolean> =>
  ask(node, 'PING').then(
    (pong) => pong === 'PONG',
    () => false,
  );

export function spawnRedis(args: readonly string[], port: number, executable = 'redis-server'): RedisProcess {
  const child: ChildProcess = spawn(executable, [...args], { stdio: 'ignore' });
  // The suite stops it; a test that crashes before then must not keep Jest waiting on it.
  child.unref();
  const running = (): boolean => child.exitCode === null && child.signalCode === null;
  return {
    host: '127.0.0.1',
    port,
    pid: child.pid as number,
    running,
    kill: async () => {
      if (!running()) return;
      const exited = new Promise((resolve) => child.once('close', resolve));
      // Held while it dies: the wait must keep Node running even where nothing else does.
      child.ref();
      child.kill('SIGCONT');
      child.kill('SIGKILL');
      await exited;
    },
    freeze: () => {
      if (running()) child.kill('SIGSTOP');
    },
    thaw: () => {
      if (running()) child.kill('SIGCONT');
    },
  };
}

/** Fields of an INFO section or CLUSTER INFO, as `name -> value`. */
export function infoFields(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const at = line.indexOf(':');
    if (at > 0) fields.set(line.slice(0, at), line.slice(at + 1).trim());
  }
  return fields;
}

/** A node as CLUSTER NODES describes it. */
export interface ClusterNodeInfo extends HostPort {
  readonly id: string;
  readonly role: 'master' | 'replica';
  /** The id of its master (replicas only). */
  readonly masterId?: string;
  readonly failed: boolean;
  /** Slot ranges `[from, to]` it serves (masters only). */
  readonly slots: ReadonlyArray<readonly [number, number]>;
}

function parseClusterNodes(text: string): ClusterNodeInfo[] {
  return text
    .trim()
    .split('\n')
    .map((line) => {
      const [id, address, flags, master, , , , , ...slots] = line.trim().split(' ');
      const [host, rest] = (address as string).split(':');
      const port = Number((rest as string).split('@')[0]);
      const flagList = (flags as string).split(',');
      return {
        id: id as string,
        host: host as string,
        port,
        role: flagList.includes('master') ? 'master' : 'replica',
        ...(master && master !== '-' ? { masterId: master } : {}),
        failed: flagList.includes('fail') || flagList.includes('fail?'),
        slots: slots
          .filter((range) => !range.startsWith('['))
          .map((range) => {
            const [from, to] = range.split('-').map(Number);
            return [from as number, to ?? (from as number)] as const;
          }),
      };
    });
}

/** A Redis Cluster of 3 masters with a replica each, on loopback. */
export interface OwnRedisCluster {
  readonly nodes: readonly RedisProcess[];
  /** Where a client starts: every node. */
  readonly startupNodes: readonly HostPort[];
  /** The cluster as `node` sees it now. */
  topology(node?: HostPort): Promise<ClusterNodeInfo[]>;
  /** The process serving `slot` as its master now (as the first answering node sees it). */
  masterOf(slot: number): Promise<RedisProcess>;
  /** The replica of the master serving `slot`. */
  replicaOf(slot: number): Promise<RedisProcess>;
  /** Resolves once every running node reports `cluster_state:ok` and agrees `slot` is served by a master that is not `notPort`. */
  waitForHealthy(options?: {
    readonly timeoutMs?: number;
    readonly slot?: number;
    readonly notPort?: number;
  }): Promise<void>;
  /**
   * Starts again every node that was killed, on its port and with its cluster config file (so it
   * rejoins, as a replica of whichever node took over its slots), and waits until the cluster is
   * healthy: a test that kills a node leaves the cluster as it found it for the next.
   */
  reviveAll(): Promise<void>;
  /**
   * Sets `cluster-node-timeout` on every running node (how long a master may not answer before
   * its replica takes over); {@link reviveAll} sets it back to the one the cluster started with.
   */
  setNodeTimeout(ms: number): Promise<void>;
  /** Stops every process and deletes its files. */
  stop(): Promise<void>;
}

/**
 * Starts 6 `redis-server --cluster-enabled yes` on free loopback ports, joins them with
 * `redis-cli --cluster create ... --cluster-replicas 1`, and waits for `cluster_state:ok` on
 * every node and every replica linked to its master. `nodeTimeoutMs` is how long a master may
 * not answer before its replica takes over.
 */
export async function startRedisCluster(options: { readonly nodeTimeoutMs?: number } = {}): Promise<OwnRedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'llm-ws-cluster-'));
  const nodeTimeoutMs = options.nodeTimeoutMs ?? 2000;
  const ports = await freePorts(12);
  const nodes: RedisProcess[] = [];
  const argsOf = new Map<number, string[]>();
  const stop = async (): Promise<void> => {
    await Promise.all(nodes.map((node) => node.kill()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < 6; i++) {
      const port = ports[i] as number;
      argsOf.set(port, [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--cluster-enabled',
        'yes',
        // Redis 7: the bus port is free too, instead of port + 10000 (which may be out of range or taken).
        '--cluster-port',
        String(ports[i + 6]),
        '--cluster-config-file',
        join(dir, `nodes-${port}.conf`),
        '--cluster-node-timeout',
        String(nodeTimeoutMs),
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        'no',
        '--protected-mode',
        'no',
      ]);
      nodes.push(spawnRedis(argsOf.get(port) as string[], port));
    }
    await Promise.all(nodes.map((node) => waitUntilTrue(() => answersPing(node), 10_000, 50)));
    await run(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...nodes.map((node) => `127.0.0.1:${node.port}`),
        '--cluster-replicas',
        '1',
        '--cluster-yes',
      ],
      {
        timeout: 30_000,
      },
    );
  } catch (error) {
    await stop();
    throw error;
  }
  const byPort = (port: number): RedisProcess => {
    const node = nodes.find((candidate) => candidate.port === port);
    if (!node) throw new Error(`no node of this cluster on port ${port}`);
    return node;
  };
  const topology = async (at?: HostPort): Promise<ClusterNodeInfo[]> => {
    const asked = at ? [at] : nodes.filter((node) => node.running());
    for (const node of asked) {
      try {
        return parseClusterNodes(String(await ask(node, 'CLUSTER', 'NODES')));
      } catch {
        // a node that does not answer (killed, frozen): ask the next
      }
    }
    throw new Error('no node of the cluster answers');
  };
  const masterInfo = async (slot: number): Promise<ClusterNodeInfo> => {
    const master = (await topology()).find(
      (node) => node.role === 'master' && !node.failed && node.slots.some(([from, to]) => slot >= from && slot <= to),
    );
    if (!master) throw new Error(`no master serves slot ${slot}`);
    return master;
  };
  const cluster: OwnRedisCluster = {
    nodes,
    startupNodes: nodes.map(({ host, port }) => ({ host, port })),
    topology,
    masterOf: async (slot) => byPort((await masterInfo(slot)).port),
    replicaOf: async (slot) => {
      const master = await masterInfo(slot);
      const replica = (await topology()).find(
        (node) => node.role === 'replica' && node.masterId === master.id && !node.failed,
      );
      if (!replica) throw new Error(`the master of slot ${slot} has no replica`);
      return byPort(replica.port);
    },
    waitForHealthy: async ({ timeoutMs = 30_000, slot, notPort } = {}) => {
      await waitUntilTrue(
        async () => {
          try {
            for (const node of nodes.filter((candidate) => candidate.running())) {
              if (infoFields(String(await ask(node, 'CLUSTER', 'INFO'))).get('cluster_state') !== 'ok') return false;
              const replication = infoFields(String(await ask(node, 'INFO', 'replication')));
              if (replication.get('role') === 'slave' && replication.get('master_link_status') !== 'up') return false;
              if (slot !== undefined) {
                const owner = parseClusterNodes(String(await ask(node, 'CLUSTER', 'NODES'))).find(
                  (info) => info.role === 'master' && info.slots.some(([from, to]) => slot >= from && slot <= to),
                );
                if (!owner || owner.port === notPort) return false;
              }
            }
            return true;
          } catch {
            return false;
          }
        },
        timeoutMs,
        100,
      );
    },
    reviveAll: async () => {
      const dead = nodes.filter((node) => !node.running());
      for (const node of dead) nodes[nodes.indexOf(node)] = spawnRedis(argsOf.get(node.port) as string[], node.port);
      await Promise.all(nodes.map((node) => waitUntilTrue(() => answersPing(node), 10_000, 50)));
      await cluster.setNodeTimeout(nodeTimeoutMs);
      if (dead.length > 0) await cluster.waitForHealthy();
    },
    setNodeTimeout: async (ms) => {
      await Promise.all(
        nodes.filter((node) => node.running()).map((node) => ask(node, 'CONFIG', 'SET', 'cluster-node-timeout', ms)),
      );
    },
    stop,
  };
  try {
    await cluster.waitForHealthy();
  } catch (error) {
    await stop();
    throw error;
  }
  return cluster;
}
