/**
 * Tracing on vs off: CPU per chunk of whole replies (the reply's span, a model call's span and its
 * metrics included, amortised over the reply's chunks) inside one process, without sockets, as
 * bench/hot-path.ts measures the chunk path. "On" is `otelTelemetry()` on a real SDK: spans
 * recorded and batched to an exporter that drops them, metrics aggregated by a MeterProvider.
 * Target (issue 27): on ≤ 1.05x off. Alternate runs; a shared machine moves figures about ±15%.
 *
 *   npx tsx bench/tracing.ts [sessions=100] [chunks=200] [rounds=7]
 */
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { BatchSpanProcessor, type SpanExporter, TracerProvider } from '@opentelemetry/sdk-trace';
import { Subject } from 'rxjs';
import { silentLogger } from '../src/core/logger';
import { makeServer } from '../src/core/make-server';
import type { Transport } from '../src/core/ports';
import type { Telemetry } from '../src/core/telemetry';
import type { LLMEvent, LLMProvider } from '../src/llm/types';
import { otelTelemetry } from '../src/otel';
import { memoryStore } from '../src/store/memory-store';
import { createToolRegistry } from '../src/tools';

const [sessions = 100, chunks = 200, rounds = 7] = process.argv.slice(2).map(Number);
let sink = 0;

const transport = (): Transport => ({
  send: (text) => {
    sink += text.length;
  },
  close: () => undefined,
  bufferedAmount: () => 0,
  onDrain: () => () => undefined,
});

/** Drops what it is given, as fast as it can: the cost measured is llm-ws's and the SDK's, not a network's. */
const droppingExporter: SpanExporter = {
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

/** ns of CPU per chunk of `sessions` whole replies of `chunks` chunks each. */
async function run(telemetry: Telemetry | undefined): Promise<number> {
  const streams: Array<Subject<LLMEvent>> = [];
  const base: LLMProvider = () => {
    const stream = new Subject<LLMEvent>();
    streams.push(stream);
    return stream;
  };
  const tools = createToolRegistry([]);
  const core = makeServer({
    store: memoryStore(),
    session: {
      provider: telemetry
        ? telemetry.provider(Object.assign(base, { info: { providerName: 'openai', model: 'm' } }))
        : base,
      tools: telemetry ? telemetry.tools(tools) : tools,
      conversation: { systemPrompt: '' },
      maxToolSteps: 5,
      idleTimeoutMs: 60_000,
      maxMessageLength: 10_000,
      onDisconnect: 'continue',
      replay: { maxMessages: 5000, maxBytes: 2 * 1024 * 1024 },
      backpressure: { highWaterMark: 1 << 20, hardLimit: 1 << 24 },
      logger: silentLogger,
      ...(telemetry ? { telemetry } : {}),
    },
    sessionTtlMs: 60_000,
    logger: silentLogger,
  });
  await core.ready();
  const connections = Array.from({ length: sessions }, () => core.opened(transport(), undefined));
  const delta = { type: 'text', delta: ' token' } as const;
  const started = process.cpuUsage();
  // Whole replies: the message, its spans' start, the chunks, the finish and usage, the spans' end.
  connections.forEach((connection, i) =>
    connection.receive(JSON.stringify({ type: 'user_message', id: `q${i}`, data: { text: 'hi' } }), false),
  );
  for (let c = 0; c < chunks; c++) for (const stream of streams) stream.next({ ...delta });
  for (const stream of streams) {
    stream.next({ type: 'finish', reason: 'stop' });
    stream.next({ type: 'usage', usage: { promptTokens: 10, completionTokens: chunks, totalTokens: chunks + 10 } });
    stream.complete();
  }
  const used = process.cpuUsage(started);
  await core.close();
  return ((used.user + used.system) * 1000) / (chunks * sessions);
}

async function main(): Promise<void> {
  const tracerProvider = new TracerProvider({
    spanProcessors: [new BatchSpanProcessor({ exporter: droppingExporter })],
  });
  const meterProvider = new MeterProvider({ readers: [new IdleReader()] });
  const telemetry = otelTelemetry({ tracerProvider, meterProvider });
  const off: number[] = [];
  const on: number[] = [];
  // Alternated, after a warm-up of each, so drift on the machine falls on both alike.
  await run(undefined);
  await run(telemetry);
  for (let round = 0; round < rounds; round++) {
    off.push(await run(undefined));
    on.push(await run(telemetry));
  }
  const median = (values: number[]): number => values.sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
  const offNs = median(off);
  const onNs = median(on);
  console.log(
    `ns CPU per chunk, ${sessions} replies x ${chunks} chunks, median of ${rounds}: tracing off ${offNs.toFixed(0)}, on ${onNs.toFixed(0)}, ratio ${(onNs / offNs).toFixed(3)}x (target ≤ 1.05x) (sink ${sink % 10})`,
  );
  await tracerProvider.shutdown();
  await meterProvider.shutdown();
}

void main();
