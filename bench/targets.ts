/**
 * Issue 16's report: llm-ws against the lean and lean+cork relays of the same run, the targets
 * as ratios of medians (met or by how much missed; issue 25's SQLite target beside them), and the
 * Redis, SQLite, OpenTelemetry, compression and Bun arms against llm-ws under Node with the memory store. Markdown for RESULTS.md, data for results.json.
 */
import type { ArmName } from './arms';
import type { HerdFigures, StreamFigures, StreamRow } from './run';

const fixed = (value: number, digits = 2): string => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');

export interface Target {
  readonly target: string;
  readonly value: number;
  /** The value it must not exceed (`atMost`) or fall below. */
  readonly limit: number;
  readonly atMost: boolean;
  readonly unit: 'x' | 'ms' | 'µs';
  /** NaN values (an arm or workload not run) are neither met nor missed. */
  readonly met: boolean | undefined;
}

const target = (name: string, value: number, limit: number, atMost: boolean, unit: Target['unit']): Target => ({
  target: name,
  value,
  limit,
  atMost,
  unit,
  met: Number.isFinite(value) ? (atMost ? value <= limit : value >= limit) : undefined,
});

const figures = (
  rows: readonly StreamRow[],
  role: StreamRow['workload']['role'],
  arm: ArmName,
): StreamFigures | undefined => rows.find((row) => row.workload.role === role)?.arms[arm];

/** The named targets of issue 16, each from the workload that stands for it (named as run: --quick runs smaller ones). */
export function issue16Targets(
  rows: readonly StreamRow[],
  herd: Partial<Record<ArmName, HerdFigures>>,
  herdClients: number,
): Target[] {
  type Role = StreamRow['workload']['role'];
  const cpu = (role: Role, arm: ArmName): number => figures(rows, role, arm)?.cpuUsPerChunk ?? Number.NaN;
  const p99 = (role: Role, arm: ArmName): number => figures(rows, role, arm)?.latencyMs.p99 ?? Number.NaN;
  const throughput = (arm: ArmName): number => figures(rows, 'saturation', arm)?.chunksPerSecond ?? Number.NaN;
  const issueNames = { paced100: 'N=100 paced', paced300: 'N=300 paced', saturation: 'saturation' } as const;
  const at = (role: NonNullable<Role>): string =>
    rows.find((row) => row.workload.role === role)?.workload.name ?? issueNames[role];
  return [
    target(
      `CPU per chunk, ${at('paced100')}: llm-ws / lean`,
      cpu('paced100', 'llm-ws') / cpu('paced100', 'lean'),
      1.1,
      true,
      'x',
    ),
    target(
      `CPU per chunk, ${at('paced300')}: llm-ws / lean`,
      cpu('paced300', 'llm-ws') / cpu('paced300', 'lean'),
      1.1,
      true,
      'x',
    ),
    target(
      `CPU per chunk, ${at('saturation')}: llm-ws / lean+cork`,
      cpu('saturation', 'llm-ws') / cpu('saturation', 'lean+cork'),
      1.2,
      true,
      'x',
    ),
    target(
      `throughput, ${at('saturation')}: llm-ws / lean+cork`,
      throughput('llm-ws') / throughput('lean+cork'),
      0.9,
      false,
      'x',
    ),
    target(
      `p99 latency, ${at('paced300')}: llm-ws minus lean`,
      p99('paced300', 'llm-ws') - p99('paced300', 'lean'),
      5,
      true,
      'ms',
    ),
    target(
      `first chunk p50, ${herdClients} reply starts at once: llm-ws minus lean`,
      (herd['llm-ws']?.firstChunkMs.p50 ?? Number.NaN) - (herd.lean?.firstChunkMs.p50 ?? Number.NaN),
      20,
      true,
      'ms',
    ),
    // Issue 24 set 1.3x (issue 16 had asked 1.2x).
    target(
      `CPU per chunk, ${at('paced100')}: llm-ws redis / llm-ws (memory store)`,
      cpu('paced100', 'llm-ws redis') / cpu('paced100', 'llm-ws'),
      1.3,
      true,
      'x',
    ),
    // Issue 24: `serve` under Bun (run as docs/guide/node.md says for a server), on Bun.serve's native WebSockets, against `serve` under Node.
    target(
      `CPU per chunk, ${at('saturation')}: llm-ws bun / llm-ws (Node)`,
      cpu('saturation', 'llm-ws bun') / cpu('saturation', 'llm-ws'),
      0.7,
      true,
      'x',
    ),
    // Issue 25: the default store of `llm-ws serve` (a SQLite file) against the memory store.
    target(
      `CPU per chunk, ${at('paced100')}: llm-ws sqlite / llm-ws (memory store)`,
      cpu('paced100', 'llm-ws sqlite') / cpu('paced100', 'llm-ws'),
      1.15,
      true,
      'x',
    ),
    // Issue 27: OpenTelemetry on (spans and metrics exported over OTLP) against off.
    target(
      `CPU per chunk, ${at('paced100')}: llm-ws otel / llm-ws (tracing off)`,
      cpu('paced100', 'llm-ws otel') / cpu('paced100', 'llm-ws'),
      1.05,
      true,
      'x',
    ),
    target(
      `redis-server CPU per chunk, ${at('paced100')}`,
      figures(rows, 'paced100', 'llm-ws redis')?.sidecar?.cpuUsPerChunk ?? Number.NaN,
      8,
      true,
      'µs',
    ),
  ];
}

function targetsTable(targets: readonly Target[]): string {
  const lines = ['| target | measured | limit | met |', '|---|---|---|---|'];
  for (const t of targets) {
    const value =
      t.met === undefined ? 'n/a' : t.unit === 'x' ? `${fixed(t.value)}x` : `${fixed(t.value, 1)} ${t.unit}`;
    const limit = `${t.atMost ? '≤' : '≥'} ${t.unit === 'x' ? `${t.limit}x` : `${t.limit} ${t.unit}`}`;
    const miss =
      t.unit === 'x'
        ? `${fixed((t.value / t.limit - 1) * 100, 0)}% over`
        : `${fixed(t.value - t.limit, 1)} ${t.unit} over`;
    lines.push(
      `| ${t.target} | ${value} | ${limit} | ${t.met === undefined ? 'not run' : t.met ? 'yes' : `**no** (${t.atMost ? miss : `${fixed((1 - t.value / t.limit) * 100, 0)}% under`})`} |`,
    );
  }
  return lines.join('\n');
}

/** Bun writes to sockets with send(2), which /proc/<pid>/io's syscw does not count: a 0 there means "not measured". */
export const writes = (perChunk: number): string => (perChunk > 0 ? fixed(perChunk) : 'n/a');

/** Every arm of the workloads lean ran in, against lean and lean+cork. */
function leanTable(rows: readonly StreamRow[]): string {
  const lines = [
    '| workload | arm | CPU µs/chunk | / lean | / lean+cork | chunks/s / lean+cork | writes/chunk | p50 / p99 ms | p99 minus lean ms |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const { workload, arms } of rows) {
    const lean = arms.lean;
    const cork = arms['lean+cork'];
    if (!lean || !cork) continue;
    workload.arms.forEach((name, i) => {
      const f = arms[name] as StreamFigures;
      lines.push(
        `| ${i === 0 ? workload.name : ''} | ${name} | ${fixed(f.cpuUsPerChunk, 1)} | ${fixed(f.cpuUsPerChunk / lean.cpuUsPerChunk)}x | ${fixed(f.cpuUsPerChunk / cork.cpuUsPerChunk)}x ` +
          `| ${fixed(f.chunksPerSecond / cork.chunksPerSecond)}x | ${writes(f.writesPerChunk)} | ${fixed(f.latencyMs.p50)} / ${fixed(f.latencyMs.p99)} | ${fixed(f.latencyMs.p99 - lean.latencyMs.p99)} |`,
      );
    });
  }
  return lines.join('\n');
}

/** The Redis (one server, and a cluster: redis-server µs summed over its 6 nodes), SQLite, OpenTelemetry, compression and Bun arms against llm-ws under Node with the memory store, in each workload they ran in. */
function variantsTable(rows: readonly StreamRow[]): string {
  const lines = [
    '| workload | arm | CPU µs/chunk / llm-ws | chunks/s / llm-ws | p99 minus llm-ws ms | redis-server µs/chunk | Redis commands (OTLP exports)/chunk |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const { workload, arms } of rows) {
    const base = arms['llm-ws'];
    if (!base) continue;
    for (const name of [
      'llm-ws redis',
      'llm-ws redis cluster',
      'llm-ws sqlite',
      'llm-ws otel',
      'llm-ws deflate',
      'llm-ws deflate 1k',
      'llm-ws bun',
      'llm-ws bun default',
    ] as const) {
      const f = arms[name];
      if (!f) continue;
      const commands = f.sidecar
        ? `${fixed(Object.values(f.sidecar.commandsPerChunk).reduce((sum, n) => sum + n, 0))} (${Object.entries(
            f.sidecar.commandsPerChunk,
          )
            .filter(([, n]) => n > 0)
            .sort(([, a], [, b]) => b - a)
            .map(([command, n]) => `${command} ${fixed(n, 3)}`)
            .join(', ')})`
        : '';
      lines.push(
        `| ${workload.name} | ${name} | ${fixed(f.cpuUsPerChunk / base.cpuUsPerChunk)}x (${fixed(f.cpuUsPerChunk, 1)} µs) | ${fixed(f.chunksPerSecond / base.chunksPerSecond)}x ` +
          `| ${fixed(f.latencyMs.p99 - base.latencyMs.p99)} | ${f.sidecar && name !== 'llm-ws otel' ? fixed(f.sidecar.cpuUsPerChunk, 1) : ''} | ${commands} |`,
      );
    }
  }
  return lines.join('\n');
}

function herdTable(clients: number, herd: Partial<Record<ArmName, HerdFigures>>): string {
  const lines = [
    '| arm | correct | first chunk p50 / p99 ms | CPU ms per reply start | writes per reply |',
    '|---|---|---|---|---|',
  ];
  for (const [name, f] of Object.entries(herd)) {
    lines.push(
      `| ${name} | ${f.ok ? 'yes' : 'NO'} | ${fixed(f.firstChunkMs.p50, 1)} / ${fixed(f.firstChunkMs.p99, 1)} | ${fixed(f.cpuMsPerReply, 3)} | ${fixed(f.writesPerReply, 1)} |`,
    );
  }
  return [
    `#### ${clients} simultaneous reply starts (each client connected first, then all send in one tick; K=2)`,
    '',
    ...lines,
  ].join('\n');
}

/** The issue 16 section of RESULTS.md. */
export function issue16Markdown(
  rows: readonly StreamRow[],
  herd: Partial<Record<ArmName, HerdFigures>>,
  herdClients: number,
): string {
  return [
    '### Issue 16: llm-ws against the lean relays (ratios of medians in this run)',
    '',
    targetsTable(issue16Targets(rows, herd, herdClients)),
    '',
    '#### Against lean and lean+cork',
    '',
    leanTable(rows),
    '',
    herdTable(herdClients, herd),
    '',
    '#### Redis and SQLite stores, OpenTelemetry, permessage-deflate and Bun, against llm-ws under Node with the memory store',
    '',
    variantsTable(rows),
  ].join('\n');
}
