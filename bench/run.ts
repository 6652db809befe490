/**
 * `npm run bench`: llm-ws against a bare ws + openai relay and a socket.io relay (issue 7's arms),
 * and against the lean and lean+cork relays with llm-ws's Redis, compression and Bun variants
 * (issue 16's arms, bench/arms.ts), each in its own process, relaying the same stamped stream from
 * the OpenAI-compatible test server (its own process) to the same load clients (their own
 * process). Arms alternate within each round; figures are medians over rounds, reported as ratios
 * against the bare relay and (bench/targets.ts) against lean and lean+cork of the same run.
 * Every run checks that every client got all its chunks, in order, exactly once.
 *
 * Writes a table to stdout, bench/results.json, bench/RESULTS.md and bench/results.svg.
 * `npm run bench -- --quick` runs every arm small, once, and writes nothing (a smoke run).
 * `--threads` prints, for each streaming sample, the CPU ticks (10 ms) of the server's threads by
 * name over the measured load (where a runtime's CPU goes besides its JavaScript thread), and the
 * process's user and system ticks and minor page faults (the kernel's share: mapping memory back in).
 * Environment: BENCH_ROUNDS (default 3); BENCH_WARMUP_CHUNKS, chunks per stream of the warm-up load
 * each server gets before it is measured (20 streams, unpaced; default 100).
 */
import { fanOutCost, fanOutMarkdown, type FanOutFigures } from './fan-out';
import type { ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import {
  ALL_ARMS,
  type Arm,
  type ArmName,
  armNamed,
  CORE_ARMS,
  type CoreArmName,
  cpuTicks,
  memoryOf,
  type Sidecar,
  startProcess,
  stop,
  threadTicks,
  cpuSplit,
  writeSyscalls,
} from './arms';
import { renderChart } from './chart';
import { issue16Markdown, issue16Targets, writes } from './targets';
import type { LoadResult, LoadSpec } from './load';
import type { StormResult, StormSpec } from './storm';

const root = join(__dirname, '..');
const TICK_US = 10_000; // /proc/<pid>/stat counts CPU time in clock ticks of 10 ms (USER_HZ = 100)
const quick = process.argv.includes('--quick');
const threads = process.argv.includes('--threads');
/** `--only idle,storm`: run just these sections (while working on one figure); nothing is written. */
const only = process.argv
  .find((arg) => arg.startsWith('--only='))
  ?.slice('--only='.length)
  .split(',');
/** `--arms=llm-ws,llm-ws redis cluster`: the streaming workloads run just these arms (with --only; nothing is written). */
const onlyArms = process.argv
  .find((arg) => arg.startsWith('--arms='))
  ?.slice('--arms='.length)
  .split(',');
/** `--workloads=saturation`: the streaming workloads whose name contains one of these (with --only; nothing is written). */
const onlyWorkloads = process.argv
  .find((arg) => arg.startsWith('--workloads='))
  ?.slice('--workloads='.length)
  .split(',');
const runs = (
  section: 'streaming' | 'herd' | 'first' | 'stalled' | 'idle' | 'storm' | 'capacity' | 'fanout',
): boolean => !only || only.includes(section);

async function load(spec: LoadSpec): Promise<LoadResult> {
  const { match } = await startProcess(['--import', 'tsx', 'bench/load.ts', JSON.stringify(spec)], {}, /^(\{.*\})$/m);
  return JSON.parse(match[1] as string) as LoadResult;
}

const WARMUP_STREAMS = 20;
/** Chunks per stream of the warm-up load (20 streams). */
const warmupChunks = Number(process.env.BENCH_WARMUP_CHUNKS ?? 100);
if (!Number.isInteger(warmupChunks) || warmupChunks < 1)
  throw new Error(
    `BENCH_WARMUP_CHUNKS must be a whole number of chunks, 1 or more (got ${process.env.BENCH_WARMUP_CHUNKS})`,
  );

async function withArm<T>(
  arm: Arm,
  upstreamURL: string,
  run: (child: ChildProcess, url: string, sidecar?: Sidecar) => Promise<T>,
  sessionTtlSeconds?: number,
): Promise<T> {
  const { child, url, sidecar } = await arm.start(upstreamURL, sessionTtlSeconds);
  try {
    // Warm every arm up alike, so the figures are of compiled code, not of the JIT's first pass.
    // A --quick run asserts only that every chunk arrives once, in order: its figures are not read.
    if (!quick)
      await load({ url, transport: arm.transport, streams: WARMUP_STREAMS, chunks: warmupChunks, delayMs: 0 });
    return await run(child, url, sidecar);
  } finally {
    await stop(child);
    await sidecar?.stop();
  }
}

/** `names`' arms in the order they run in `round`: who goes first rotates, so drift on a shared machine falls on all of them. */
const armsInRound = (round: number, names: readonly ArmName[] = CORE_ARMS): Arm[] => {
  const list = names.map(armNamed);
  return [...list.slice(round % list.length), ...list.slice(0, round % list.length)];
};

const median = (values: number[]): number => {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  return sorted.length === 0 ? Number.NaN : (sorted[Math.floor(sorted.length / 2)] as number);
};
const fixed = (value: number, digits = 2): string => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');
const ratio = (value: number, base: number): string => `${fixed(value / base)}x`;

// ---- Streaming workloads ------------------------------------------------------------------------

export interface StreamWorkload {
  readonly name: string;
  readonly streams: number;
  readonly chunks: number;
  readonly delayMs: number;
  /** The arms that run it (issue 7's three, plus issue 16's where its targets name the workload). */
  readonly arms: readonly ArmName[];
  /** Which of issue 16's targets this workload stands for (bench/targets.ts). */
  readonly role?: 'paced100' | 'paced300' | 'saturation';
}

/** One arm's figures for a streaming workload: medians over rounds. */
export interface StreamFigures {
  ok: boolean;
  problems: string[];
  chunksPerSecond: number;
  cpuUsPerChunk: number;
  /** write/writev syscalls of the server process per chunk (all its writes: to clients, upstream, logs). */
  writesPerChunk: number;
  wireBytesPerChunk: number;
  latencyMs: { p50: number; p99: number; p999: number };
  firstChunkMs: number;
  /** The Redis arm: redis-server's CPU per chunk, and the commands it served per chunk, by name. */
  sidecar?: { cpuUsPerChunk: number; commandsPerChunk: Record<string, number> };
}

export type StreamRow = { workload: StreamWorkload; arms: Partial<Record<ArmName, StreamFigures>> };

interface StreamSample {
  result: LoadResult;
  cpuUsPerChunk: number;
  writesPerChunk: number;
  sidecar?: { cpuUsPerChunk: number; commandsPerChunk: Record<string, number> };
}

async function streamSample(arm: Arm, workload: StreamWorkload, upstreamURL: string): Promise<StreamSample> {
  return withArm(arm, upstreamURL, async (child, url, sidecar) => {
    const pid = child.pid as number;
    const [before, writesBefore] = [cpuTicks(pid), writeSyscalls(pid)];
    const threadsBefore = threads ? threadTicks(pid) : {};
    const splitBefore = threads ? cpuSplit(pid) : undefined;
    const sidecarTicks = (car: Sidecar): number => car.pids.reduce((sum, id) => sum + cpuTicks(id), 0);
    const sidecarBefore = sidecar && { ticks: sidecarTicks(sidecar), commands: await sidecar.commands() };
    const result = await load({
      url,
      transport: arm.transport,
      streams: workload.streams,
      chunks: workload.chunks,
      delayMs: workload.delayMs,
    });
    const chunks = Math.max(1, result.chunksDelivered);
    if (threads) {
      const byThread = Object.entries(threadTicks(pid))
        .map(([name, ticks]) => [name, ticks - (threadsBefore[name] ?? 0)] as const)
        .filter(([, ticks]) => ticks > 0)
        .sort((a, b) => b[1] - a[1]);
      const split = cpuSplit(pid);
      const kernel = splitBefore
        ? `; user ${split.user - splitBefore.user}, system ${split.system - splitBefore.system}, minor faults ${split.minorFaults - splitBefore.minorFaults}`
        : '';
      console.log(
        `threads, ${workload.name}, ${arm.name}: ${byThread.map(([name, ticks]) => `${name} ${ticks}`).join(', ')}${kernel}`,
      );
    }
    const sample: StreamSample = {
      result,
      cpuUsPerChunk: ((cpuTicks(pid) - before) * TICK_US) / chunks,
      writesPerChunk: (writeSyscalls(pid) - writesBefore) / chunks,
    };
    if (sidecar && sidecarBefore) {
      const commands = await sidecar.commands();
      // The one INFO of the first reading is counted in the second; it is not the server's.
      const perChunk = Object.fromEntries(
        Object.entries(commands).map(([name, calls]) => [
          name,
          (calls - (sidecarBefore.commands[name] ?? 0) - (name === 'info' ? 1 : 0)) / chunks,
        ]),
      );
      sample.sidecar = {
        cpuUsPerChunk: ((sidecarTicks(sidecar) - sidecarBefore.ticks) * TICK_US) / chunks,
        commandsPerChunk: perChunk,
      };
    }
    return sample;
  });
}

async function streamWorkload(
  workload: StreamWorkload,
  rounds: number,
  upstreamURL: string,
): Promise<Partial<Record<ArmName, StreamFigures>>> {
  const samples = new Map<ArmName, StreamSample[]>(workload.arms.map((name) => [name, []]));
  for (let round = 0; round < rounds; round++) {
    for (const arm of armsInRound(round, workload.arms))
      samples.get(arm.name)?.push(await streamSample(arm, workload, upstreamURL));
  }
  const figuresOf = (list: StreamSample[]): StreamFigures => {
    const sidecars = list.flatMap((s) => (s.sidecar ? [s.sidecar] : []));
    const commandNames = [...new Set(sidecars.flatMap((s) => Object.keys(s.commandsPerChunk)))];
    return {
      ok: list.every((s) => s.result.ok),
      problems: list.flatMap((s) => s.result.problems),
      chunksPerSecond: median(list.map((s) => (s.result.chunksDelivered / s.result.elapsedMs) * 1000)),
      cpuUsPerChunk: median(list.map((s) => s.cpuUsPerChunk)),
      writesPerChunk: median(list.map((s) => s.writesPerChunk)),
      wireBytesPerChunk: median(list.map((s) => s.result.wireBytesPerChunk)),
      latencyMs: {
        p50: median(list.map((s) => s.result.latencyMs.p50)),
        p99: median(list.map((s) => s.result.latencyMs.p99)),
        p999: median(list.map((s) => s.result.latencyMs.p999)),
      },
      firstChunkMs: median(list.map((s) => s.result.firstChunkMs.p50)),
      ...(sidecars.length > 0
        ? {
            sidecar: {
              cpuUsPerChunk: median(sidecars.map((s) => s.cpuUsPerChunk)),
              commandsPerChunk: Object.fromEntries(
                commandNames.map((name) => [name, median(sidecars.map((s) => s.commandsPerChunk[name] ?? 0))]),
              ),
            },
          }
        : {}),
    };
  };
  return Object.fromEntries([...samples].map(([name, list]) => [name, figuresOf(list)]));
}

/** Every arm of every workload against the bare relay of the same run (issue 7's anchor); bench/targets.ts has issue 16's. */
function streamTable(rows: StreamRow[]): string {
  const lines = [
    '| workload | arm | correct | chunks/s (ratio) | CPU µs/chunk (ratio) | writes/chunk | wire B/chunk (ratio) | latency p50 / p99 / p99.9 ms (added) | first chunk ms (added) |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const { workload, arms: figures } of rows) {
    const bare = figures.bare as StreamFigures;
    for (const name of workload.arms) {
      const f = figures[name] as StreamFigures;
      const added =
        name === 'bare'
          ? ''
          : ` (${fixed(f.latencyMs.p50 - bare.latencyMs.p50)} / ${fixed(f.latencyMs.p99 - bare.latencyMs.p99)} / ${fixed(f.latencyMs.p999 - bare.latencyMs.p999)})`;
      lines.push(
        `| ${name === 'bare' ? workload.name : ''} | ${name} | ${f.ok ? 'yes' : 'NO'} ` +
          `| ${fixed(f.chunksPerSecond, 0)} (${ratio(f.chunksPerSecond, bare.chunksPerSecond)}) ` +
          `| ${fixed(f.cpuUsPerChunk, 1)} (${ratio(f.cpuUsPerChunk, bare.cpuUsPerChunk)}) ` +
          `| ${writes(f.writesPerChunk)} ` +
          `| ${fixed(f.wireBytesPerChunk, 0)} (${ratio(f.wireBytesPerChunk, bare.wireBytesPerChunk)}) ` +
          `| ${fixed(f.latencyMs.p50)} / ${fixed(f.latencyMs.p99)} / ${fixed(f.latencyMs.p999)}${added} ` +
          `| ${fixed(f.firstChunkMs)}${name === 'bare' ? '' : ` (${fixed(f.firstChunkMs - bare.firstChunkMs)})`} |`,
      );
    }
  }
  return lines.join('\n');
}

// ---- Reply starts in a herd -------------------------------------------------------------------

/** The arms of the herd: issue 16's target compares llm-ws with lean. */
const HERD_ARMS: readonly ArmName[] = ['lean', 'llm-ws'];

export interface HerdFigures {
  ok: boolean;
  firstChunkMs: { p50: number; p99: number };
  /** Server CPU per reply (each a K=2 stream), in ms. */
  cpuMsPerReply: number;
  writesPerReply: number;
}

/** `clients` connect, then all send a user_message in the same tick; medians over rounds of each arm's first chunk and CPU per reply start. */
async function herd(
  clients: number,
  rounds: number,
  upstreamURL: string,
): Promise<Partial<Record<ArmName, HerdFigures>>> {
  const samples = new Map<ArmName, Array<{ result: LoadResult; cpuMs: number; writes: number }>>(
    HERD_ARMS.map((name) => [name, []]),
  );
  for (let round = 0; round < rounds; round++) {
    for (const arm of armsInRound(round, HERD_ARMS)) {
      const sample = await withArm(arm, upstreamURL, async (child, url) => {
        const pid = child.pid as number;
        const [before, writesBefore] = [cpuTicks(pid), writeSyscalls(pid)];
        const result = await load({
          url,
          transport: arm.transport,
          streams: clients,
          chunks: 2,
          delayMs: 0,
          together: true,
        });
        return {
          result,
          cpuMs: ((cpuTicks(pid) - before) * TICK_US) / 1000 / clients,
          writes: (writeSyscalls(pid) - writesBefore) / clients,
        };
      });
      samples.get(arm.name)?.push(sample);
    }
  }
  return Object.fromEntries(
    [...samples].map(([name, list]) => [
      name,
      {
        ok: list.every((s) => s.result.ok),
        firstChunkMs: {
          p50: median(list.map((s) => s.result.firstChunkMs.p50)),
          p99: median(list.map((s) => s.result.firstChunkMs.p99)),
        },
        cpuMsPerReply: median(list.map((s) => s.cpuMs)),
        writesPerReply: median(list.map((s) => s.writes)),
      },
    ]),
  );
}

// ---- Time to first chunk ----------------------------------------------------------------------

/** Time to first chunk of one stream at a time (no queueing behind other streams), p50 and p99 over `repeat` in a row. */
async function firstChunk(
  rounds: number,
  repeat: number,
  upstreamURL: string,
): Promise<Record<CoreArmName, { p50: number; p99: number; ok: boolean }>> {
  const samples: Record<CoreArmName, LoadResult[]> = { bare: [], 'llm-ws': [], 'socket.io': [] };
  for (let round = 0; round < rounds; round++) {
    for (const arm of armsInRound(round)) {
      samples[arm.name as CoreArmName].push(
        await withArm(arm, upstreamURL, (_child, url) =>
          load({ url, transport: arm.transport, streams: 1, chunks: 5, delayMs: 0, repeat }),
        ),
      );
    }
  }
  const summary = (list: LoadResult[]) => ({
    p50: median(list.map((r) => r.firstChunkMs.p50)),
    p99: median(list.map((r) => r.firstChunkMs.p99)),
    ok: list.every((r) => r.ok),
  });
  return {
    bare: summary(samples.bare),
    'llm-ws': summary(samples['llm-ws']),
    'socket.io': summary(samples['socket.io']),
  };
}

// ---- Stalled reader -----------------------------------------------------------------------------

interface StalledFigures {
  ok: boolean;
  othersP99Ms: number;
  /** The server's highest RSS during the run, above its RSS before it, in MB. */
  peakRssGrowthMb: number;
}

async function stalledReader(
  arm: Arm,
  spec: { streams: number; chunks: number; delayMs: number },
  upstreamURL: string,
): Promise<StalledFigures> {
  return withArm(arm, upstreamURL, async (child, url) => {
    const before = (await memoryOf(child)).rss;
    let peak = before;
    const sampling = setInterval(() => {
      memoryOf(child, false).then(
        (memory) => (peak = Math.max(peak, memory.rss)),
        () => undefined,
      );
    }, 200);
    try {
      const result = await load({ url, transport: arm.transport, ...spec, stalled: 1 });
      return { ok: result.ok, othersP99Ms: result.latencyMs.p99, peakRssGrowthMb: (peak - before) / 2 ** 20 };
    } finally {
      clearInterval(sampling);
    }
  });
}

// ---- Idle sessions ------------------------------------------------------------------------------

interface IdleFigures {
  connected: number;
  failed: number;
  heapKbPerSession: number;
  rssKbPerSession: number;
  /** Heap after every client left, relative to before they came (0.05 = 5% above). */
  heapAfterRelative: number;
  /** The streams run while the idle sessions were connected: all correct? */
  streamsOk: boolean;
  streamsP99Ms: number;
}

/** llm-ws's session TTL in the idle workload, so "heap after all left" is measured once the kept sessions expired. */
const IDLE_SESSION_TTL_SECONDS = 1;

async function idleSessions(arm: Arm, connections: number, streams: number, upstreamURL: string): Promise<IdleFigures> {
  return withArm(
    arm,
    upstreamURL,
    async (child, url) => {
      const busyLoad = (): Promise<LoadResult> =>
        load({ url, transport: arm.transport, streams, chunks: 100, delayMs: 20 });
      // The streams once before measuring, so the baseline has the upstream connection pool and
      // compiled code the later streams use: the difference is then the idle sessions'.
      await busyLoad();
      await new Promise((resolve) => setTimeout(resolve, IDLE_SESSION_TTL_SECONDS * 1000 + 1500));
      const before = await memoryOf(child);
      const idle = await startProcess(
        ['--import', 'tsx', 'bench/idle.ts', JSON.stringify({ url, transport: arm.transport, connections })],
        {},
        /connected (\d+) failed (\d+)/,
        {
          stdin: true,
        },
      );
      const withIdle = await memoryOf(child);
      const busy = await busyLoad();
      const closed = new Promise<void>((resolve) =>
        idle.child.stdout?.on('data', () => idle.output().includes('closed') && resolve()),
      );
      idle.child.stdin?.write('close\n');
      await closed;
      // llm-ws keeps the sessions that said something for a resume until their TTL (1 s here) passes.
      await new Promise((resolve) => setTimeout(resolve, IDLE_SESSION_TTL_SECONDS * 1000 + 1500));
      const after = await memoryOf(child);
      const connected = Number(idle.match[1]);
      await stop(idle.child);
      return {
        connected,
        failed: Number(idle.match[2]),
        heapKbPerSession: (withIdle.heapUsed - before.heapUsed) / connected / 1024,
        rssKbPerSession: (withIdle.rss - before.rss) / connected / 1024,
        heapAfterRelative: (after.heapUsed - before.heapUsed) / before.heapUsed,
        streamsOk: busy.ok,
        streamsP99Ms: busy.latencyMs.p99,
      };
    },
    IDLE_SESSION_TTL_SECONDS,
  );
}

// ---- Reconnect storm ----------------------------------------------------------------------------

async function reconnectStorm(arm: Arm, sessions: number, upstreamURL: string): Promise<StormResult> {
  return withArm(arm, upstreamURL, async (_child, url) => {
    const spec: StormSpec = { url, transport: arm.transport, sessions, resume: arm.name === 'llm-ws' };
    const { match } = await startProcess(
      ['--import', 'tsx', 'bench/storm.ts', JSON.stringify(spec)],
      {},
      /^(\{.*\})$/m,
    );
    return JSON.parse(match[1] as string) as StormResult;
  });
}

// ---- Largest N under 250 ms ---------------------------------------------------------------------

/** The largest N of `steps` whose p99 latency stays under 250 ms with every chunk correct (0 if none). */
async function largestN(
  arm: Arm,
  steps: readonly number[],
  upstreamURL: string,
): Promise<{ largest: number; tried: Array<{ n: number; p99Ms: number; ok: boolean }> }> {
  const tried: Array<{ n: number; p99Ms: number; ok: boolean }> = [];
  let largest = 0;
  for (const n of steps) {
    const result = await withArm(arm, upstreamURL, (_child, url) =>
      load({ url, transport: arm.transport, streams: n, chunks: 100, delayMs: 20 }),
    );
    tried.push({ n, p99Ms: result.latencyMs.p99, ok: result.ok });
    if (!result.ok || result.latencyMs.p99 >= 250) break;
    largest = n;
  }
  return { largest, tried };
}

// ---- The run ------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const rounds = quick ? 1 : Number(process.env.BENCH_ROUNDS ?? 3);
  // Issue 16's arms run only where its targets name the workload (the full run stays near 15 minutes);
  // --quick runs every arm once, small: the lean ones in both workloads, Redis, compression and Bun paced.
  const lean: ArmName[] = ['lean', 'lean+cork'];
  const variants: ArmName[] = ['llm-ws deflate', 'llm-ws deflate 1k', 'llm-ws bun', 'llm-ws bun default'];
  const workloads: StreamWorkload[] = quick
    ? [
        { name: 'N=20 K=50 paced 20 ms', streams: 20, chunks: 50, delayMs: 20, arms: ALL_ARMS, role: 'paced100' },
        {
          name: 'saturation N=20 K=500',
          streams: 20,
          chunks: 500,
          delayMs: 0,
          arms: [...CORE_ARMS, ...lean],
          role: 'saturation',
        },
      ]
    : [
        { name: 'N=50 K=250 paced 20 ms', streams: 50, chunks: 250, delayMs: 20, arms: CORE_ARMS },
        {
          name: 'N=100 K=250 paced 20 ms',
          streams: 100,
          chunks: 250,
          delayMs: 20,
          arms: [
            ...CORE_ARMS,
            ...lean,
            'llm-ws redis',
            'llm-ws redis cluster',
            'llm-ws sqlite',
            'llm-ws otel',
            ...variants,
          ],
          role: 'paced100',
        },
        { name: 'N=200 K=250 paced 20 ms', streams: 200, chunks: 250, delayMs: 20, arms: CORE_ARMS },
        {
          name: 'N=300 K=250 paced 20 ms',
          streams: 300,
          chunks: 250,
          delayMs: 20,
          arms: [...CORE_ARMS, ...lean, 'llm-ws redis'],
          role: 'paced300',
        },
        { name: 'N=100 K=250 paced 1 ms', streams: 100, chunks: 250, delayMs: 1, arms: CORE_ARMS },
        {
          name: 'saturation N=100 K=2000',
          streams: 100,
          chunks: 2000,
          delayMs: 0,
          arms: [...CORE_ARMS, ...lean, ...variants],
          role: 'saturation',
        },
      ];
  const herdClients = quick ? 50 : 200;
  const idleCount = quick ? 200 : 10_000;
  const idleStreams = quick ? 20 : 200;
  const stormSessions = quick ? 100 : 1000;
  const stalledSpec = quick ? { streams: 20, chunks: 50, delayMs: 20 } : { streams: 100, chunks: 250, delayMs: 20 };
  const nSteps = quick ? [50] : [300, 500, 800, 1200, 1600, 2000];

  const upstream = await startProcess(['--import', 'tsx', 'bench/upstream.ts'], {}, /ready (\S+)/);
  const upstreamURL = upstream.match[1] as string;
  const log = (line: string): boolean => process.stderr.write(`${line}\n`);
  const streamRows: StreamRow[] = [];
  let herdFigures: Partial<Record<ArmName, HerdFigures>> = {};
  let first = {} as Awaited<ReturnType<typeof firstChunk>>;
  const stalled = {} as Record<CoreArmName, StalledFigures>;
  const idle = {} as Record<CoreArmName, IdleFigures>;
  const storm = {} as Record<CoreArmName, StormResult>;
  const capacity = {} as Record<CoreArmName, Awaited<ReturnType<typeof largestN>>>;
  /** Fan-out cost per tab of a shared session (bench/fan-out.ts), in-process on loopback: no arms. */
  let fanOut: FanOutFigures[] | undefined;
  const fanOutChunks = quick ? 500 : 2000;
  const core = (section: Parameters<typeof runs>[0]): Array<Arm & { name: CoreArmName }> =>
    runs(section) ? (CORE_ARMS.map(armNamed) as Array<Arm & { name: CoreArmName }>) : [];
  try {
    const selected = workloads
      .filter((workload) => !onlyWorkloads || onlyWorkloads.some((part) => workload.name.includes(part)))
      .map((workload) =>
        onlyArms ? { ...workload, arms: workload.arms.filter((name) => onlyArms.includes(name)) } : workload,
      );
    for (const workload of runs('streaming') ? selected.filter((workload) => workload.arms.length > 0) : []) {
      streamRows.push({ workload, arms: await streamWorkload(workload, rounds, upstreamURL) });
      log(`done: ${workload.name}`);
    }
    if (runs('herd')) herdFigures = await herd(herdClients, rounds, upstreamURL);
    if (runs('herd')) log('done: herd');
    const firstRepeat = quick ? 10 : 50;
    if (runs('first')) first = await firstChunk(rounds, firstRepeat, upstreamURL);
    if (runs('first')) log('done: first chunk');
    // Progress per arm from here: each section is one sample per arm.
    const section = async <T>(
      name: Parameters<typeof runs>[0],
      run: (arm: Arm & { name: CoreArmName }) => Promise<T>,
      into: Record<string, T>,
    ) => {
      for (const arm of core(name)) {
        into[arm.name] = await run(arm);
        log(`done: ${name} ${arm.name}`);
      }
    };
    await section('stalled', (arm) => stalledReader(arm, stalledSpec, upstreamURL), stalled);
    await section('idle', (arm) => idleSessions(arm, idleCount, idleStreams, upstreamURL), idle);
    await section('storm', (arm) => reconnectStorm(arm, stormSessions, upstreamURL), storm);
    await section('capacity', (arm) => largestN(arm, nSteps, upstreamURL), capacity);
    if (runs('fanout')) fanOut = await fanOutCost(fanOutChunks, rounds);
    if (runs('fanout')) log('done: fan-out');
  } finally {
    await stop(upstream.child);
  }

  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, ${rounds} round${rounds === 1 ? '' : 's'}, medians`;
  const names = CORE_ARMS;
  const perArm = (title: string, header: string, cells: (name: CoreArmName) => string): string =>
    [
      `### ${title}`,
      '',
      `| arm | ${header} |`,
      `|---|${header
        .split('|')
        .map(() => '---')
        .join('|')}|`,
      ...names.map((name) => `| ${name} | ${cells(name)} |`),
    ].join('\n');
  const targets = issue16Targets(streamRows, herdFigures, herdClients);
  if (only) {
    console.log(
      JSON.stringify(
        { streaming: streamRows, herd: herdFigures, targets, first, stalled, idle, storm, capacity, fanOut },
        null,
        2,
      ),
    );
    console.log(issue16Markdown(streamRows, herdFigures, herdClients));
    if (fanOut) console.log(fanOutMarkdown(fanOut, fanOutChunks));
    return;
  }
  const sections = [
    ...(fanOut ? [fanOutMarkdown(fanOut, fanOutChunks), ''] : []),
    `### Streaming (${rounds} round${rounds === 1 ? '' : 's'} each, medians; ratios against bare)`,
    '',
    streamTable(streamRows),
    '',
    issue16Markdown(streamRows, herdFigures, herdClients),
    '',
    perArm(
      `Time to first chunk, one stream at a time (${quick ? 10 : 50} in a row, ${rounds} round${rounds === 1 ? '' : 's'}, medians)`,
      'correct | p50 ms (added) | p99 ms (added)',
      (name) =>
        `${first[name].ok ? 'yes' : 'NO'} | ${fixed(first[name].p50)}${name === 'bare' ? '' : ` (${fixed(first[name].p50 - first.bare.p50)})`} ` +
        `| ${fixed(first[name].p99)}${name === 'bare' ? '' : ` (${fixed(first[name].p99 - first.bare.p99)})`}`,
    ),
    '',
    perArm(
      `One stalled reader among ${stalledSpec.streams} streams (it asks for 20,000 chunks of 1 KB and stops reading)`,
      'others correct | others p99 ms | server peak RSS growth MB',
      (name) =>
        `${stalled[name].ok ? 'yes' : 'NO'} | ${fixed(stalled[name].othersP99Ms)} | ${fixed(stalled[name].peakRssGrowthMb, 1)}`,
    ),
    '',
    perArm(
      `${idleCount.toLocaleString('en')} idle sessions, then ${idleStreams} streams (K=100, paced 20 ms) beside them; heap after all left is measured after llm-ws's session TTL (1 s here) passed`,
      'connected | heap KB/session | RSS KB/session | heap after all left | streams correct | streams p99 ms',
      (name) =>
        `${idle[name].connected} (${idle[name].failed} failed) | ${fixed(idle[name].heapKbPerSession)} | ${fixed(idle[name].rssKbPerSession)} | ` +
        `${fixed(idle[name].heapAfterRelative * 100, 1)}% | ${idle[name].streamsOk ? 'yes' : 'NO'} | ${fixed(idle[name].streamsP99Ms)}`,
    ),
    '',
    perArm(
      `Reconnect storm: ${stormSessions} sessions dropped at once, all reconnecting (llm-ws resumes each session)`,
      'all back | time to settle ms',
      (name) => `${storm[name].ok ? 'yes' : `NO (${storm[name].failed} failed)`} | ${fixed(storm[name].settleMs, 0)}`,
    ),
    '',
    perArm(
      'Largest N (K=100, paced 20 ms) with p99 latency under 250 ms and every chunk correct',
      `largest N | tried (N: p99 ms)`,
      (name) =>
        `${capacity[name].largest} | ${capacity[name].tried.map((t) => `${t.n}: ${fixed(t.p99Ms, 0)}${t.ok ? '' : ' (errors)'}`).join(', ')}`,
    ),
  ];
  const markdown = sections.join('\n');
  console.log(`${machine}\n\n${markdown}`);
  const allCorrect =
    streamRows.every((row) => Object.values(row.arms).every((f) => f.ok)) &&
    Object.values(herdFigures).every((f) => f.ok) &&
    names.every((name) => first[name].ok && stalled[name].ok && idle[name].streamsOk);
  if (!quick) {
    const results = {
      machine,
      date: new Date().toISOString(),
      streaming: streamRows,
      herd: herdFigures,
      issue16Targets: targets,
      firstChunk: first,
      stalled,
      idle,
      storm,
      capacity,
    };
    writeFileSync(join(root, 'bench/results.json'), `${JSON.stringify(results, null, 2)}\n`);
    writeFileSync(join(root, 'bench/results.svg'), renderChart(streamRows, idle));
    writeFileSync(join(root, 'bench/RESULTS.md'), resultsMarkdown(machine, markdown));
  }
  if (!allCorrect) {
    console.error(
      'some clients did not get every chunk once, in order:',
      streamRows.flatMap((row) => Object.values(row.arms).flatMap((f) => f.problems)).slice(0, 5),
    );
    process.exit(1);
  }
}

/** RESULTS.md: the latest tables, the chart, and the notes kept in bench/NOTES.md (targets, profile). */
function resultsMarkdown(machine: string, tables: string): string {
  const notes = readFileSync(join(root, 'bench/NOTES.md'), 'utf8');
  return (
    `# Benchmark results\n\n${machine}, ${new Date().toISOString().slice(0, 10)}. Produced by \`npm run bench\`; ` +
    `ratios are against the bare ws + openai relay in the same run, "added" is the arm's figure minus the bare relay's.\n\n` +
    `![CPU per chunk and idle memory, relative to the bare relay](results.svg)\n\n${tables}\n\n${notes}`
  );
}

void main();
