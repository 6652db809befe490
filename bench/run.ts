/**
 * `npm run bench`: llm-ws against a bare ws + openai relay, each in its own process, relaying
 * the same stamped stream from the OpenAI-compatible test server (its own process) to the same
 * load clients (their own process). Arms alternate within each round; figures are medians over
 * rounds, reported as ratios against the bare relay of the same run.
 *
 * Writes a table to stdout, bench/results.json and bench/RESULTS.md.
 *
 * Environment: BENCH_ROUNDS (default 3), BENCH_QUICK=1 for one small workload (a smoke run).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import type { LoadResult, LoadSpec } from './load';

const root = join(__dirname, '..');
const TICK_US = 10_000; // /proc/<pid>/stat counts CPU time in clock ticks of 10 ms (USER_HZ = 100)

interface Workload {
  readonly name: string;
  readonly streams: number;
  readonly chunks: number;
  readonly delayMs: number;
}

interface Arm {
  readonly name: 'bare' | 'llm-ws';
  start(upstreamURL: string): Promise<{ child: ChildProcess; url: string }>;
}

interface Sample {
  readonly result: LoadResult;
  readonly cpuUsPerChunk: number;
}

/** Starts a process and resolves once its output matches `ready`. */
function startProcess(command: string, args: string[], env: NodeJS.ProcessEnv, ready: RegExp): Promise<{ child: ChildProcess; match: RegExpMatchArray }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const onData = (data: Buffer): void => {
      output += data.toString();
      const match = output.match(ready);
      if (match) resolve({ child, match });
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${command} ${args.join(' ')} exited with ${code}:\n${output}`)));
  });
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/** User plus system CPU time of a process so far, in clock ticks. */
function cpuTicks(pid: number): number {
  // The command name (field 2) may hold spaces; the fields after its closing parenthesis do not.
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of the whole line)
}

const arms: Arm[] = [
  {
    name: 'bare',
    start: async (upstreamURL) => {
      const { child, match } = await startProcess(process.execPath, ['--import', 'tsx', 'bench/bare-relay.ts'], { OPENAI_BASE_URL: upstreamURL }, /ready (\d+)/);
      return { child, url: `ws://127.0.0.1:${match[1]}/ws` };
    },
  },
  {
    name: 'llm-ws',
    start: async (upstreamURL) => {
      const args = ['dist/cli/index.js', 'serve', '--port', '0', '--host', '127.0.0.1', '--max-connections', '20000', '--model', 'bench'];
      const { child, match } = await startProcess(process.execPath, args, { OPENAI_BASE_URL: upstreamURL }, /listening on (ws:\/\/\S+)/);
      return { child, url: match[1] as string };
    },
  },
];

async function load(spec: LoadSpec): Promise<LoadResult> {
  const { match } = await startProcess(process.execPath, ['--import', 'tsx', 'bench/load.ts', JSON.stringify(spec)], {}, /^(\{.*\})$/m);
  return JSON.parse(match[1] as string) as LoadResult;
}

async function runOnce(arm: Arm, workload: Workload, upstreamURL: string): Promise<Sample> {
  const { child, url } = await arm.start(upstreamURL);
  try {
    // Warm both arms up alike, so the figures are of compiled code, not of the JIT's first pass.
    await load({ url, streams: 20, chunks: 100, delayMs: 0 });
    const before = cpuTicks(child.pid as number);
    const result = await load({ url, streams: workload.streams, chunks: workload.chunks, delayMs: workload.delayMs });
    const cpuUsPerChunk = ((cpuTicks(child.pid as number) - before) * TICK_US) / Math.max(1, result.chunksDelivered);
    return { result, cpuUsPerChunk };
  } finally {
    await stop(child);
  }
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
};

interface ArmFigures {
  ok: boolean;
  problems: string[];
  chunksPerSecond: number;
  cpuUsPerChunk: number;
  wireBytesPerChunk: number;
  latencyMs: { p50: number; p99: number; p999: number };
  firstChunkMs: number;
}

function figures(samples: Sample[]): ArmFigures {
  return {
    ok: samples.every((s) => s.result.ok),
    problems: samples.flatMap((s) => s.result.problems),
    chunksPerSecond: median(samples.map((s) => (s.result.chunksDelivered / s.result.elapsedMs) * 1000)),
    cpuUsPerChunk: median(samples.map((s) => s.cpuUsPerChunk)),
    wireBytesPerChunk: median(samples.map((s) => s.result.wireBytesPerChunk)),
    latencyMs: {
      p50: median(samples.map((s) => s.result.latencyMs.p50)),
      p99: median(samples.map((s) => s.result.latencyMs.p99)),
      p999: median(samples.map((s) => s.result.latencyMs.p999)),
    },
    firstChunkMs: median(samples.map((s) => s.result.firstChunkMs.p50)),
  };
}

const fixed = (value: number, digits = 2): string => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');

function table(rows: Array<{ workload: Workload; bare: ArmFigures; llmws: ArmFigures }>): string {
  const lines = [
    '| workload | correct (bare / llm-ws) | chunks/s ratio | CPU µs/chunk (bare → llm-ws, ratio) | wire bytes/chunk ratio | added latency p50 / p99 / p99.9 (ms) | added first chunk (ms) |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const { workload, bare, llmws } of rows) {
    lines.push(
      `| ${workload.name} | ${bare.ok ? 'yes' : 'NO'} / ${llmws.ok ? 'yes' : 'NO'} | ${fixed(llmws.chunksPerSecond / bare.chunksPerSecond)}x ` +
        `| ${fixed(bare.cpuUsPerChunk, 1)} → ${fixed(llmws.cpuUsPerChunk, 1)} (${fixed(llmws.cpuUsPerChunk / bare.cpuUsPerChunk)}x) ` +
        `| ${fixed(llmws.wireBytesPerChunk / bare.wireBytesPerChunk)}x ` +
        `| ${fixed(llmws.latencyMs.p50 - bare.latencyMs.p50)} / ${fixed(llmws.latencyMs.p99 - bare.latencyMs.p99)} / ${fixed(llmws.latencyMs.p999 - bare.latencyMs.p999)} ` +
        `| ${fixed(llmws.firstChunkMs - bare.firstChunkMs)} |`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const workloads: Workload[] = process.env.BENCH_QUICK
    ? [{ name: 'N=20 K=50 paced 20 ms', streams: 20, chunks: 50, delayMs: 20 }]
    : [
        { name: 'N=50 K=250 paced 20 ms', streams: 50, chunks: 250, delayMs: 20 },
        { name: 'N=100 K=250 paced 20 ms', streams: 100, chunks: 250, delayMs: 20 },
        { name: 'N=200 K=250 paced 20 ms', streams: 200, chunks: 250, delayMs: 20 },
        { name: 'N=300 K=250 paced 20 ms', streams: 300, chunks: 250, delayMs: 20 },
        { name: 'N=100 K=250 paced 1 ms', streams: 100, chunks: 250, delayMs: 1 },
        { name: 'saturation N=100 K=2000', streams: 100, chunks: 2000, delayMs: 0 },
      ];
  const upstream = await startProcess(process.execPath, ['--import', 'tsx', 'bench/upstream.ts'], {}, /ready (\S+)/);
  const upstreamURL = upstream.match[1] as string;
  const rows: Array<{ workload: Workload; bare: ArmFigures; llmws: ArmFigures }> = [];
  try {
    for (const workload of workloads) {
      const samples: Record<Arm['name'], Sample[]> = { bare: [], 'llm-ws': [] };
      for (let round = 0; round < rounds; round++) {
        // Alternate which arm goes first, so drift on a shared machine falls on both.
        for (const arm of round % 2 === 0 ? arms : [...arms].reverse()) {
          samples[arm.name].push(await runOnce(arm, workload, upstreamURL));
        }
      }
      rows.push({ workload, bare: figures(samples.bare), llmws: figures(samples['llm-ws']) });
      process.stderr.write(`done: ${workload.name}\n`);
    }
  } finally {
    await stop(upstream.child);
  }

  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, ${rounds} rounds, medians`;
  const markdown = table(rows);
  console.log(`${machine}\n\n${markdown}`);
  writeFileSync(join(root, 'bench/results.json'), `${JSON.stringify({ machine, date: new Date().toISOString(), rows }, null, 2)}\n`);
  writeFileSync(
    join(root, 'bench/RESULTS.md'),
    `# Benchmark results\n\n${machine}, ${new Date().toISOString().slice(0, 10)}. Ratios are llm-ws against the bare ws + openai relay in the same run; ` +
      `added latency is llm-ws's percentile minus the bare relay's. Produced by \`npm run bench\`.\n\n${markdown}\n`,
  );
  if (rows.some((row) => !row.bare.ok || !row.llmws.ok)) {
    console.error('some clients did not get every chunk once, in order:', rows.flatMap((row) => [...row.bare.problems, ...row.llmws.problems]).slice(0, 5));
    process.exit(1);
  }
}

void main();
