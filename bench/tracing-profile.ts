/**
 * What tracing costs `llm-ws serve` under the bench's load, from a CPU profile rather than from
 * two noisy CPU totals: `serve --store memory` with OpenTelemetry on (OTLP/HTTP protobuf to a
 * receiver that drops, as the `llm-ws otel` arm of `npm run bench`), profiled with `--cpu-prof`
 * while the bench's clients stream `runs` × N=100 K=250 paced 20 ms through it. A sample counts as
 * tracing's when the nearest package or llm-ws frame on its stack is tracing code: the
 * `@opentelemetry/*` packages, protobufjs, or llm-ws's own `src/otel` (its per-chunk `next`
 * included, the work it hands each chunk on to not). Node's own frames (a write, a timer) count
 * for whoever called them.
 *
 *   npm run build && npx tsx bench/tracing-profile.ts [runs=4] [--write]
 *
 * `--write` puts the output in bench/TRACING-PROFILE.md with the command that made it.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startOtlpSink, startProcess, stop } from './arms';
import type { LoadResult } from './load';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}
interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

const write = process.argv.includes('--write');
const runs = Number(process.argv.slice(2).find((arg) => !arg.startsWith('--')) ?? 4);
const root = join(__dirname, '..');
const bundle = join(root, 'dist/cli/index.js');

/** The lines of the CLI bundle that hold src/otel (esbuild marks each source file with a comment). */
function otelLines(): { from: number; to: number } {
  const lines = readFileSync(bundle, 'utf8').split('\n');
  const marks = lines.flatMap((line, i) =>
    line.startsWith('// src/') ? [{ i, otel: line.startsWith('// src/otel/') }] : [],
  );
  const first = marks.findIndex((mark) => mark.otel);
  if (first < 0) throw new Error('dist/cli/index.js holds no src/otel: run npm run build');
  let last = first;
  while (marks[last + 1]?.otel) last++;
  return { from: marks[first]?.i ?? 0, to: marks[last + 1]?.i ?? lines.length };
}

function tracingShare(profile: Profile): { busyMs: number; tracingMs: number; top: [string, number][] } {
  const { from, to } = otelLines();
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const isTracing = ({ callFrame: { url, lineNumber } }: ProfileNode): boolean =>
    url.includes('/@opentelemetry/') ||
    url.includes('/protobufjs/') ||
    (url.endsWith('dist/cli/index.js') && lineNumber >= from && lineNumber < to);
  const isCode = ({ callFrame: { url } }: ProfileNode): boolean =>
    url.includes('node_modules/') || url.includes('/dist/');
  let busy = 0;
  let tracing = 0;
  const top = new Map<string, number>();
  for (const node of profile.nodes) {
    const us = self.get(node.id) ?? 0;
    if (us === 0 || node.callFrame.functionName === '(idle)') continue;
    busy += us;
    let owner: ProfileNode | undefined = node;
    while (owner && !isCode(owner)) owner = byId.get(parent.get(owner.id) ?? -1);
    if (!owner || !isTracing(owner)) continue;
    tracing += us;
    const name = `${owner.callFrame.functionName || '(anonymous)'} ${owner.callFrame.url.split('/').slice(-2).join('/')}:${owner.callFrame.lineNumber + 1}`;
    top.set(name, (top.get(name) ?? 0) + us);
  }
  return {
    busyMs: busy / 1000,
    tracingMs: tracing / 1000,
    top: [...top].sort(([, a], [, b]) => b - a).slice(0, 10),
  };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'llm-ws-tracing-profile-'));
  const upstream = await startProcess(['--import', 'tsx', 'bench/upstream.ts'], {}, /ready (\S+)/);
  const sink = await startOtlpSink();
  try {
    const serve = await startProcess(
      ['--cpu-prof', `--cpu-prof-dir=${dir}`, bundle, 'serve', '--port', '0', '--store', 'memory'],
      {
        OPENAI_BASE_URL: upstream.match[1],
        OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      },
      /listening on (ws:\/\/\S+)/,
    );
    const spec = { url: serve.match[1], streams: 100, chunks: 250, delayMs: 20 };
    for (let run = 0; run < runs; run++) {
      const { match } = await startProcess(
        ['--import', 'tsx', 'bench/load.ts', JSON.stringify(spec)],
        {},
        /^(\{.*\})$/m,
      );
      const result = JSON.parse(match[1] as string) as LoadResult;
      if (!result.ok) throw new Error(`a run lost or reordered chunks: ${result.problems.join('; ')}`);
    }
    await stop(serve.child);
    const exports = await sink.sidecar.commands();
    if (!exports['/v1/traces']) throw new Error('the server exported no traces: tracing was not on');
    const file = readdirSync(dir).find((name) => name.endsWith('.cpuprofile'));
    if (!file) throw new Error(`no CPU profile in ${dir}`);
    const { busyMs, tracingMs, top } = tracingShare(JSON.parse(readFileSync(join(dir, file), 'utf8')) as Profile);
    const chunks = runs * spec.streams * spec.chunks;
    const lines = [
      `${runs} runs of N=100 K=250 paced 20 ms (${chunks} chunks), serve --store memory with OTLP export (${JSON.stringify(exports)} requests)`,
      `busy CPU ${busyMs.toFixed(0)} ms (${((busyMs * 1000) / chunks).toFixed(1)} µs a chunk, profiler included); tracing's ${tracingMs.toFixed(0)} ms = ${((100 * tracingMs) / busyMs).toFixed(1)}% (on/off ≈ ${(busyMs / (busyMs - tracingMs)).toFixed(3)}x)`,
      'where (self time of tracing code and the Node work it called, ms):',
      ...top.map(([name, us]) => `  ${(us / 1000).toFixed(1).padStart(7)} ${name}`),
    ];
    console.log(lines.join('\n'));
    if (write) {
      const load = loadavg()
        .map((n) => n.toFixed(1))
        .join(', ');
      writeFileSync(
        join(__dirname, 'TRACING-PROFILE.md'),
        `# Tracing's share of the server's CPU, from a profile\n\nWritten by \`npx tsx bench/tracing-profile.ts ${runs} --write\` on ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, Node ${process.version}, load average ${load} (see bench/tracing-profile.ts for what is counted).\n\n\`\`\`\n${lines.join('\n')}\n\`\`\`\n`,
      );
    }
  } finally {
    await sink.sidecar.stop();
    await stop(upstream.child);
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
