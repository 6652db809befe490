/**
 * Tracing on vs off: CPU per chunk of whole replies (the reply's span, a model call's span and its
 * metrics included, amortised over the reply's chunks) inside one process, without sockets, as
 * bench/hot-path.ts measures the chunk path. "On" is `otelTelemetry()` on a real SDK configured as
 * `llm-ws serve` configures it: spans batched (BatchSpanProcessor) to an exporter that drops them,
 * metrics aggregated by a MeterProvider. Target (issue 27): on ≤ 1.05x off.
 *
 * A shared machine moves single runs by ±15% or more, so the runs come in rounds of three, back to
 * back, in an order that rotates from round to round: off, on, and off again (a control: off
 * against off shows the noise the machine makes). Each run starts after a full GC, so none pays
 * for its predecessor's garbage. Every figure is the median over the rounds of that round's
 * figure, with its spread (25th…75th percentile):
 *
 * - the ratio: on / off, CPU of the whole run (messages in, chunks, finish) per chunk; and the
 *   control's, off / off;
 * - per reply: what tracing adds once per reply (the messages in, spans started; the finish,
 *   spans ended, metrics recorded), in µs;
 * - per chunk: what it adds to the chunks alone, in ns;
 * - GC: the collector's pause time within the run (PerformanceObserver), per reply, in µs: part
 *   of the CPU figures, not on top of them.
 *
 * Last, tracing's own work per reply measured hot (a reply span started and ended, a model call's
 * span and metrics, each repeated in a tight loop): the floor of what it adds per reply, which
 * replies interleaved with the rest of the server's work (cold caches on a busy machine) exceed.
 *
 * Where the cost lies, when asked for more arms than `on` (each run in every round, the order
 * rotating): `spans` (spans only, metrics to a no-op meter), `metrics` (metrics only, spans to the
 * no-op tracer), `unbatched` (everything, ended spans dropped at once instead of waiting in the
 * batch processor: what keeping them until an export costs).
 *
 * The figures go to stdout and, with `--write`, to bench/TRACING.md (with the command that made them).
 *
 *   npx tsx bench/tracing.ts [sessions=100] [chunks=200,1000] [rounds=9] [arms=on] [--write]
 */
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createNoopMeter, trace } from '@opentelemetry/api';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { BatchSpanProcessor, type SpanExporter, type SpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { Subject } from 'rxjs';
import type { Telemetry } from '../src/core/telemetry';
import type { LLMEvent, LLMProvider } from '../src/llm/types';
import { otelTelemetry } from '../src/otel';
import { chunkAll, cpuMicrosSince, finishAll, inProcessCore, sent, startReplies } from './in-process';

const write = process.argv.includes('--write');
const args = process.argv.slice(2).filter((arg) => arg !== '--write');
const sessions = Number(args[0] ?? 100);
const lengths = (args[1] ?? '200,1000').split(',').map(Number);
const rounds = Number(args[2] ?? 9);
const ARMS = ['on', 'spans', 'metrics', 'unbatched'] as const;
type Arm = (typeof ARMS)[number];
const arms = (args[3] ?? 'on').split(',') as Arm[];
for (const arm of arms) if (!ARMS.includes(arm)) throw new RangeError(`arms: one of ${ARMS.join(', ')}, got "${arm}"`);

// A full GC before each run: without it a run pays for its predecessor's garbage.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

/** Drops what it is given, as fast as it can: the cost measured is llm-ws's and the SDK's, not a network's. */
const droppingExporter: SpanExporter = {
  // ExportResultCode.SUCCESS (0): @opentelemetry/core is not a dependency of its own here.
  // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment
  export: (_spans, done) => done({ code: 0 }),
  shutdown: () => Promise.resolve(),
};
class IdleReader extends MetricReader {
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** Ends nothing up: a span ended is dropped at once (the `unbatched` arm). */
const droppingProcessor: SpanProcessor = {
  onStart: () => undefined,
  onEnd: () => undefined,
  forceFlush: () => Promise.resolve(),
  shutdown: () => Promise.resolve(),
};

/** GC pauses seen, as [start, duration] in ms on performance.now()'s clock. */
const pauses: Array<[number, number]> = [];
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) pauses.push([entry.startTime, entry.duration]);
}).observe({ entryTypes: ['gc'] });

/** CPU of one run of `sessions` whole replies of `chunks` chunks: its phases, in µs. */
interface Run {
  /** The messages in: sessions, replies and (on) spans started. */
  readonly start: number;
  readonly chunks: number;
  /** The finish and usage: replies and (on) spans ended, metrics recorded. */
  readonly end: number;
  /** GC pauses within the run. */
  readonly gc: number;
}

async function run(telemetry: Telemetry | undefined, chunks: number): Promise<Run> {
  const { core, streams } = await inProcessCore(telemetry);
  collectGarbage();
  const from = performance.now();
  const started = process.cpuUsage();
  startReplies(core, sessions);
  const start = cpuMicrosSince(started);
  for (let c = 0; c < chunks; c++) chunkAll(streams);
  const throughChunks = cpuMicrosSince(started);
  finishAll(streams, chunks);
  const all = cpuMicrosSince(started);
  const to = performance.now();
  await core.close();
  // GC entries are delivered later, on a timer of their own.
  await new Promise((resolve) => setTimeout(resolve, 20));
  const gc = pauses.filter(([at]) => at >= from && at <= to).reduce((sum, [, ms]) => sum + ms * 1000, 0);
  pauses.length = 0;
  return { start, chunks: throughChunks - start, end: all - throughChunks, gc };
}

/** The median of `values` and its spread (25th and 75th percentiles). */
function spread(values: number[]): { median: number; low: number; high: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.round(q * (sorted.length - 1))] as number;
  return { median: at(0.5), low: at(0.25), high: at(0.75) };
}
const show = (values: number[], digits = 0): string => {
  const { median, low, high } = spread(values);
  return `${median.toFixed(digits)} (${low.toFixed(digits)}…${high.toFixed(digits)})`;
};

/** µs per call of `work`, the median of 7 batches after a warm-up. */
function microsPerCall(work: (i: number) => void, calls = 20_000): number {
  for (let i = 0; i < calls / 10; i++) work(i);
  const batches: number[] = [];
  for (let batch = 0; batch < 7; batch++) {
    const started = process.cpuUsage();
    for (let i = 0; i < calls; i++) work(i);
    batches.push(cpuMicrosSince(started) / calls);
  }
  return spread(batches).median;
}

/** Tracing's own work per reply, each part in a tight loop: the reply span, and a model call traced less untraced. */
function hotPerReply(
  tracerProvider: TracerProvider,
  meterProvider: MeterProvider,
): {
  reply: number;
  call: number;
  total: number;
} {
  const telemetry = otelTelemetry({ tracerProvider, meterProvider });
  let stream = new Subject<LLMEvent>();
  const model: LLMProvider = Object.assign(() => (stream = new Subject<LLMEvent>()), {
    info: { providerName: 'openai', model: 'bench-model' },
  });
  const usage = { promptTokens: 10, completionTokens: 200, totalTokens: 210 };
  const reply = microsPerCall((i) =>
    telemetry
      .startReply({ sessionId: 's', requestId: `q${i}`, text: 'hi' })
      .end({ type: 'complete', data: { finishReason: 'stop', usage, fullText: '' } }),
  );
  const callOf = (provider: LLMProvider) => (i: number) => {
    const subscription = provider({
      messages: [],
      tools: [],
      options: {},
      call: { conversationId: 's', requestId: `q${i}`, principal: undefined, trace: undefined },
    }).subscribe();
    stream.next({ type: 'finish', reason: 'stop' });
    stream.next({ type: 'usage', usage });
    stream.complete();
    subscription.unsubscribe();
  };
  const call = microsPerCall(callOf(telemetry.provider(model))) - microsPerCall(callOf(model));
  return { reply, call, total: reply + call };
}

async function main(): Promise<void> {
  const tracerProvider = new TracerProvider({
    spanProcessors: [new BatchSpanProcessor({ exporter: droppingExporter })],
  });
  const meterProvider = new MeterProvider({ readers: [new IdleReader()] });
  const unbatchedProvider = new TracerProvider({ spanProcessors: [droppingProcessor] });
  const telemetries: Record<Arm, Telemetry> = {
    on: otelTelemetry({ tracerProvider, meterProvider }),
    spans: otelTelemetry({ tracerProvider, meterProvider: { getMeter: () => createNoopMeter() } }),
    // No SDK registered: the API's global tracer is the no-op one.
    metrics: otelTelemetry({ tracerProvider: trace.getTracerProvider(), meterProvider }),
    unbatched: otelTelemetry({ tracerProvider: unbatchedProvider, meterProvider }),
  };
  const lines: string[] = [];
  const say = (text: string): void => {
    console.log(text);
    lines.push(text);
  };
  say(
    `${sessions} replies a run, ${rounds} rounds of off, ${arms.join(', ')} and a control off run; median (25th…75th percentile) over the rounds`,
  );
  type Which = 'off' | 'control' | Arm;
  const order: Which[] = ['off', ...arms, 'control'];
  const telemetryOf = (which: Which): Telemetry | undefined =>
    which === 'off' || which === 'control' ? undefined : telemetries[which];
  for (const chunks of lengths) {
    for (const which of order) await run(telemetryOf(which), chunks);
    const rounds_: Array<Record<Which, Run>> = [];
    for (let round = 0; round < rounds; round++) {
      // The order rotates, so a trend on the machine falls on each run alike.
      const runs: Partial<Record<Which, Run>> = {};
      for (let i = 0; i < order.length; i++) {
        const which = order[(i + round) % order.length] as Which;
        runs[which] = await run(telemetryOf(which), chunks);
      }
      rounds_.push(runs as Record<Which, Run>);
    }
    const total = (r: Run): number => r.start + r.chunks + r.end;
    const perChunkNs = (r: Run): number => (total(r) * 1000) / (chunks * sessions);
    const perReplyUs = (r: Run): number => (r.start + r.end) / sessions;
    const chunkNs = (r: Run): number => (r.chunks * 1000) / (chunks * sessions);
    const of = (f: (round: Record<Which, Run>) => number, digits = 0): string => show(rounds_.map(f), digits);
    say(
      `${chunks}-chunk replies: control off/off ${of((r) => total(r.control) / total(r.off), 3)}x; ` +
        `CPU per chunk, whole reply, off ${of((r) => perChunkNs(r.off))} ns; ` +
        `off per reply (start + finish) ${of((r) => perReplyUs(r.off), 1)} µs, per chunk (chunks alone) ${of((r) => chunkNs(r.off))} ns; ` +
        `GC pauses per reply off ${of((r) => r.off.gc / sessions, 1)} µs, control ${of((r) => r.control.gc / sessions, 1)} µs`,
    );
    for (const arm of ['control', ...arms] as const)
      say(
        `  ${arm}: ratio ${arm}/off ${of((r) => total(r[arm]) / total(r.off), 3)}x${arm === 'on' ? ' (target ≤ 1.05x)' : ''}; ` +
          `added per reply (start + finish) ${of((r) => perReplyUs(r[arm]) - perReplyUs(r.off), 1)} µs; ` +
          `added per chunk (chunks alone) ${of((r) => chunkNs(r[arm]) - chunkNs(r.off))} ns; ` +
          `GC pauses per reply ${of((r) => r[arm].gc / sessions, 1)} µs`,
      );
  }
  const hot = hotPerReply(tracerProvider, meterProvider);
  say(
    `tracing's own work per reply, hot: ${hot.total.toFixed(1)} µs (reply span ${hot.reply.toFixed(1)} µs, ` +
      `model call span and metrics ${hot.call.toFixed(1)} µs)`,
  );
  console.log(`(sink ${sent.characters % 10})`);
  if (write) {
    const command = `npx tsx bench/tracing.ts ${process.argv.slice(2).join(' ')}`;
    const load = loadavg()
      .map((value) => value.toFixed(1))
      .join(', ');
    writeFileSync(
      join(__dirname, 'TRACING.md'),
      `# Tracing on vs off\n\nWritten by \`${command}\` on ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, ` +
        `Node ${process.version}, load average ${load} (see bench/tracing.ts for what each figure is).\n\n` +
        `\`\`\`\n${lines.join('\n')}\n\`\`\`\n`,
    );
  }
  await Promise.all([tracerProvider.shutdown(), unbatchedProvider.shutdown(), meterProvider.shutdown()]);
}

void main();
