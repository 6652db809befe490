/**
 * The arms of `npm run bench` (bench/run.ts): how each server process is started (llm-ws under
 * Node, Bun, with Redis or compression; the bare, socket.io and lean relays), and what the bench
 * reads from a process (CPU time, write syscalls, memory through the probe).
 */
import { type ChildProcess, execFile, spawn, type StdioOptions } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import WebSocket from 'ws';
import { startRedisCluster } from '../test/utils/redis-cluster';
import type { Transport } from './clients';

const root = join(__dirname, '..');
const execFileAsync = promisify(execFile);

/** Issue 7's arms, which every section runs. */
export type CoreArmName = 'bare' | 'llm-ws' | 'socket.io';
export type ArmName =
  | CoreArmName
  | 'lean'
  | 'lean+cork'
  | 'llm-ws redis'
  | 'llm-ws redis cluster'
  | 'llm-ws sqlite'
  | 'llm-ws otel'
  | 'llm-ws deflate'
  | 'llm-ws deflate 1k'
  | 'llm-ws bun'
  | 'llm-ws bun default';

/** Processes an arm needs beside its server (the Redis arms' redis-servers): their CPU and command counts are measured too. */
export interface Sidecar {
  readonly pids: readonly number[];
  /** Commands served so far, by name (Redis: `INFO commandstats`). */
  commands(): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

export interface Started {
  readonly child: ChildProcess;
  readonly url: string;
  readonly sidecar?: Sidecar;
}

export interface Arm {
  readonly name: ArmName;
  readonly transport: Transport;
  /** `sessionTtlSeconds`: how long llm-ws keeps a session for a resume (the others keep none). */
  start(upstreamURL: string, sessionTtlSeconds?: number): Promise<Started>;
}

// ---- Processes ---------------------------------------------------------------------------------

/**
 * Starts a process and resolves once its output matches `ready`. `ipc` adds the channel the memory
 * probe answers on; `command` runs something else than this Node (Bun, redis-server).
 */
export function startProcess(
  args: string[],
  env: NodeJS.ProcessEnv,
  ready: RegExp,
  options: { ipc?: boolean; stdin?: boolean; command?: string } = {},
): Promise<{ child: ChildProcess; match: RegExpMatchArray; output: () => string }> {
  return new Promise((resolve, reject) => {
    const stdio: StdioOptions = [
      options.stdin ? 'pipe' : 'ignore',
      'pipe',
      'pipe',
      ...(options.ipc ? (['ipc'] as const) : []),
    ];
    const child: ChildProcess = spawn(options.command ?? process.execPath, args, {
      cwd: root,
      env: { ...process.env, ...env },
      stdio,
    });
    let output = '';
    let matched = false;
    const onData = (data: Buffer): void => {
      output += data.toString();
      const match = output.match(ready);
      if (match && !matched) {
        matched = true;
        resolve({ child, match, output: () => output });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}:\n${output}`)));
  });
}

export function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/** The fields after the command name in a /proc `stat` file (the name may hold spaces; the fields after its closing parenthesis do not). */
const fieldsOfStat = (path: string): string[] => readFileSync(path, 'utf8').split(') ')[1]?.split(' ') ?? [];

/** The 20 fields after the command name in /proc/<pid>/stat. */
const statFields = (pid: number): string[] => fieldsOfStat(`/proc/${pid}/stat`);

/** User and system CPU ticks of a process so far, and its minor page faults (a page mapped back in by the kernel). */
export function cpuSplit(pid: number): {
  readonly user: number;
  readonly system: number;
  readonly minorFaults: number;
} {
  const fields = statFields(pid);
  // minflt, utime, stime: fields 10, 14 and 15 of the whole line.
  return { user: Number(fields[11]), system: Number(fields[12]), minorFaults: Number(fields[7]) };
}

/** User plus system CPU time of a process so far, in clock ticks. */
export function cpuTicks(pid: number): number {
  const { user, system } = cpuSplit(pid);
  return user + system;
}

/**
 * CPU ticks of each of a process's threads so far, summed by thread name (`comm`: Node's main
 * thread and workers are all `node`; Bun names its `JITWorker`, `HeapHelper`...). A thread that
 * ended is not counted: take the difference of two readings for what ran between them.
 */
export function threadTicks(pid: number): Record<string, number> {
  const ticks: Record<string, number> = {};
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const fields = fieldsOfStat(`/proc/${pid}/task/${tid}/stat`);
      const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      // The process's own main thread has the process's id: named apart from its workers.
      const key = tid === String(pid) ? `${name} (main)` : name;
      ticks[key] = (ticks[key] ?? 0) + Number(fields[11]) + Number(fields[12]);
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return ticks;
}

/**
 * Write syscalls (write, writev, pwrite) a process made so far, all its threads: `syscw` of
 * /proc/<pid>/io. Free to read, so every sample counts them; corked frames show as fewer.
 */
export function writeSyscalls(pid: number): number {
  return Number(/syscw: (\d+)/.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1] ?? Number.NaN);
}

/** A free TCP port on loopback (for redis-server, which cannot be told to pick one itself). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createNetServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Commands a redis-server on `port` served so far, by name (`INFO commandstats`). */
async function commandStats(port: number): Promise<Record<string, number>> {
  const { stdout } = await execFileAsync('redis-cli', ['-p', String(port), 'INFO', 'commandstats']);
  const counts: Record<string, number> = {};
  for (const [, name, calls] of stdout.matchAll(/^cmdstat_(\S+?):calls=(\d+)/gm))
    counts[name as string] = Number(calls);
  return counts;
}

/**
 * A private Redis Cluster (3 masters, a replica each, test/utils/redis-cluster.ts); stopped with
 * its arm. Its CPU is all six servers' (replication included), its commands the masters'.
 */
async function startCluster(): Promise<{ nodes: string; sidecar: Sidecar }> {
  const cluster = await startRedisCluster();
  const commands = async (): Promise<Record<string, number>> => {
    const counts: Record<string, number> = {};
    // Masters only: a replica counts every command it replicates again.
    const masters = (await cluster.topology()).filter((node) => node.role === 'master');
    for (const node of masters) {
      for (const [name, calls] of Object.entries(await commandStats(node.port)))
        counts[name] = (counts[name] ?? 0) + calls;
    }
    // The bench's own readings (llm-ws sends neither).
    delete counts.info;
    delete counts['cluster|nodes'];
    return counts;
  };
  const nodes = cluster.startupNodes.map(({ host, port }) => `${host}:${port}`).join(',');
  return { nodes, sidecar: { pids: cluster.nodes.map((node) => node.pid), commands, stop: () => cluster.stop() } };
}

/** A private redis-server on a free port, no persistence; stopped with its arm. */
async function startRedis(): Promise<{ url: string; sidecar: Sidecar }> {
  const port = await freePort();
  const { child } = await startProcess(
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {},
    /Ready to accept connections/,
    {
      command: 'redis-server',
    },
  );
  return {
    url: `redis://127.0.0.1:${port}`,
    sidecar: { pids: [child.pid as number], commands: () => commandStats(port), stop: () => stop(child) },
  };
}

/**
 * An OTLP/HTTP receiver in the bench's own process, standing in for a collector: it reads each
 * export and answers 200 with an empty response (a valid empty protobuf and JSON message alike).
 * Its "commands" are the exports it got, by path, so the arm shows it really exported.
 */
export async function startOtlpSink(): Promise<{ url: string; sidecar: Sidecar }> {
  const counts: Record<string, number> = {};
  const server = createHttpServer((request, response) => {
    request.resume();
    request.once('end', () => {
      const path = request.url ?? '/';
      counts[path] = (counts[path] ?? 0) + 1;
      const json = (request.headers['content-type'] ?? '').includes('json');
      response.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' });
      response.end(json ? '{}' : undefined);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    sidecar: {
      // In this process: its CPU is not the server's, as a collector's would not be.
      pids: [],
      commands: () => Promise.resolve({ ...counts }),
      stop: () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    },
  };
}

/** The server's memory, after a full GC when `collect` (the probe loaded into every arm answers). */
export function memoryOf(child: ChildProcess, collect = true): Promise<NodeJS.MemoryUsage> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the memory probe did not answer')), 10_000);
    child.once('message', (message: { memory: NodeJS.MemoryUsage }) => {
      clearTimeout(timer);
      resolve(message.memory);
    });
    child.send(collect ? 'memory' : 'peek');
  });
}

/** Every server runs with the memory probe: `--expose-gc` and `bench/probe.cjs`. */
const PROBED = ['--expose-gc', '--require', './bench/probe.cjs'];

const SERVE = [
  'dist/cli/index.js',
  'serve',
  '--port',
  '0',
  '--host',
  '127.0.0.1',
  '--max-connections',
  '20000',
  // The idle section holds 10,000 sessions beside its streams: past the default budget (10,000).
  '--max-sessions',
  '20000',
  // The memory store, the baseline every arm is compared with (`serve`'s default is SQLite since
  // issue 25): the SQLite arm gives `--store sqlite`, the Redis arms a Redis.
  '--store',
  'memory',
  '--model',
  'bench',
  '--no-builtin-tools',
];
const LISTENING = /listening on (ws:\/\/\S+)/;

/** What docs/guide/node.md ("Runtimes") says to set for a server run by Bun. */
const BUN_SERVER_ENV = { MIMALLOC_PURGE_DELAY: '-1' } as const;

/** `serve` run by Bun, with `env` added; fails unless /health says it serves on Bun's native WebSockets. */
async function startBun(upstreamURL: string, env: NodeJS.ProcessEnv): Promise<Started> {
  const { child, match } = await startProcess(SERVE, { OPENAI_BASE_URL: upstreamURL, ...env }, LISTENING, {
    command: join(root, 'node_modules/.bin/bun'),
  });
  const url = match[1] as string;
  // The arm measures the native transport or nothing: /health says which one serves.
  const health = await fetch(url.replace(/^ws/, 'http').replace(/\/ws$/, '/health'));
  const { transport } = (await health.json()) as { transport?: string };
  if (transport !== 'bun') {
    await stop(child);
    throw new Error(`the Bun arm serves on transport ${String(transport)}, not bun`);
  }
  return { child, url };
}

/** `llm-ws serve` under Node with the probe, plus `extra` arguments for Node (before the script) and for serve. */
async function startServe(
  upstreamURL: string,
  serveArgs: string[],
  nodeArgs: string[] = [],
  env: NodeJS.ProcessEnv = {},
): Promise<Started> {
  const { child, match } = await startProcess(
    [...PROBED, ...nodeArgs, ...SERVE, ...serveArgs],
    { ...env, OPENAI_BASE_URL: upstreamURL },
    LISTENING,
    { ipc: true },
  );
  return { child, url: match[1] as string };
}

/** A relay in bench/ (prints `ready <port>`), with the probe. */
async function startRelay(script: string, env: NodeJS.ProcessEnv = {}): Promise<Started> {
  const { child, match } = await startProcess([...PROBED, '--import', 'tsx', script], env, /ready (\d+)/, {
    ipc: true,
  });
  return { child, url: `ws://127.0.0.1:${match[1]}/ws` };
}

/** Fails unless a client offering permessage-deflate gets it from the server at `url`: the compression arm must compress. */
function assertDeflate(url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    socket.once('open', () => {
      const extensions = socket.extensions;
      socket.close();
      if (extensions.includes('permessage-deflate')) resolve();
      else reject(new Error(`the compression arm did not negotiate permessage-deflate (extensions: "${extensions}")`));
    });
    socket.once('error', reject);
  });
}

/** `llm-ws serve` with compression flags, checked to compress. */
async function startDeflating(upstreamURL: string, flags: string[]): Promise<Started> {
  const started = await startServe(upstreamURL, flags);
  await assertDeflate(started.url).catch(async (error: unknown) => {
    await stop(started.child);
    throw error;
  });
  return started;
}

export const arms: Arm[] = [
  {
    name: 'bare',
    transport: 'ws',
    start: (upstreamURL) => startRelay('bench/bare-relay.ts', { OPENAI_BASE_URL: upstreamURL }),
  },
  {
    name: 'llm-ws',
    transport: 'ws',
    start: (upstreamURL, sessionTtlSeconds) =>
      startServe(upstreamURL, sessionTtlSeconds === undefined ? [] : ['--session-ttl', String(sessionTtlSeconds)]),
  },
  {
    name: 'llm-ws sqlite',
    transport: 'ws',
    // `serve`'s default store, in a data directory of the bench's own (emptied at each start).
    start: (upstreamURL) => {
      const dir = join(tmpdir(), 'llm-ws-bench-sqlite');
      rmSync(dir, { recursive: true, force: true });
      return startServe(upstreamURL, ['--store', 'sqlite', '--data-dir', dir]);
    },
  },
  {
    name: 'llm-ws otel',
    transport: 'ws',
    // The llm-ws arm with OpenTelemetry on, as `llm-ws serve` turns it on (issue 27): traces and
    // metrics exported over OTLP/HTTP (protobuf) to a receiver that drops them.
    start: async (upstreamURL) => {
      const sink = await startOtlpSink();
      try {
        const env = { OTEL_EXPORTER_OTLP_ENDPOINT: sink.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' };
        return { ...(await startServe(upstreamURL, [], [], env)), sidecar: sink.sidecar };
      } catch (error) {
        await sink.sidecar.stop();
        throw error;
      }
    },
  },
  {
    name: 'socket.io',
    transport: 'socket.io',
    start: (upstreamURL) => startRelay('bench/socketio-relay.ts', { OPENAI_BASE_URL: upstreamURL }),
  },
  {
    name: 'lean',
    transport: 'ws',
    start: (upstreamURL) => startRelay('bench/lean-relay.ts', { OPENAI_BASE_URL: upstreamURL }),
  },
  {
    name: 'lean+cork',
    transport: 'ws',
    start: (upstreamURL) => startRelay('bench/lean-relay.ts', { OPENAI_BASE_URL: upstreamURL, LEAN_CORK: '1' }),
  },
  {
    name: 'llm-ws redis',
    transport: 'ws',
    start: async (upstreamURL) => {
      const redis = await startRedis();
      try {
        return { ...(await startServe(upstreamURL, ['--redis-url', redis.url])), sidecar: redis.sidecar };
      } catch (error) {
        await redis.sidecar.stop();
        throw error;
      }
    },
  },
  {
    name: 'llm-ws redis cluster',
    transport: 'ws',
    start: async (upstreamURL) => {
      const cluster = await startCluster();
      try {
        return { ...(await startServe(upstreamURL, ['--redis-cluster', cluster.nodes])), sidecar: cluster.sidecar };
      } catch (error) {
        await cluster.sidecar.stop();
        throw error;
      }
    },
  },
  // Every frame compressed against the ones before (what the seed's `enableCompression: true` did).
  {
    name: 'llm-ws deflate',
    transport: 'ws',
    start: (upstreamURL) => startDeflating(upstreamURL, ['--compression-context-takeover']),
  },
  // The default settings of `--compression`: frames of 1 KiB and more, each on its own.
  {
    name: 'llm-ws deflate 1k',
    transport: 'ws',
    start: (upstreamURL) => startDeflating(upstreamURL, ['--compression']),
  },
  // The same build as the llm-ws arm, run by Bun (the devDependency), which serves on Bun.serve's
  // native WebSockets, as docs/guide/node.md says to run a server on Bun: its allocator keeping
  // freed pages (`MIMALLOC_PURGE_DELAY=-1`). No memory probe (Node-only flags).
  { name: 'llm-ws bun', transport: 'ws', start: (upstreamURL) => startBun(upstreamURL, BUN_SERVER_ENV) },
  // Bun with its allocator's defaults: mimalloc gives freed pages back to the kernel after 100 ms,
  // and the next burst of allocations faults them in again (unset even if the bench's own environment sets it).
  {
    name: 'llm-ws bun default',
    transport: 'ws',
    start: (upstreamURL) => startBun(upstreamURL, { MIMALLOC_PURGE_DELAY: undefined }),
  },
];
export const armNamed = (name: ArmName): Arm => arms.find((arm) => arm.name === name) as Arm;
/** The arms of issue 7's sections (stalled reader, idle, storm, capacity, first chunk). */
export const CORE_ARMS: readonly CoreArmName[] = ['bare', 'llm-ws', 'socket.io'];
export const ALL_ARMS: readonly ArmName[] = arms.map((arm) => arm.name);
