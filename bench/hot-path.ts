/**
 * The per-chunk path inside one process, without sockets: a model event from the provider to the
 * encoded frame handed to the transport (reply pipeline, session, replay log, encoding), against
 * what the lean relay does for the same chunk (one JSON.stringify). Far less noisy than `npm run
 * bench` for comparing changes to that path (alternate the old and new code; runs spread about
 * ±15% on a shared machine). It runs hot: in the server the same path costs several times more
 * (cold caches between chunks, see bench/PROFILE.md).
 *
 *   npx tsx bench/hot-path.ts [sessions=100] [chunks=2000] [rounds=5]
 */
import { Subject } from 'rxjs';
import { silentLogger } from '../src/core/logger';
import { makeServer } from '../src/core/make-server';
import type { Transport } from '../src/core/ports';
import type { LLMEvent } from '../src/llm/types';
import { memoryStore } from '../src/store/memory-store';
import { createToolRegistry } from '../src/tools';

const [sessions = 100, chunks = 2000, rounds = 5] = process.argv.slice(2).map(Number);
let sink = 0;

/** A transport that takes frames as a socket would: the text's length is read, nothing kept. */
const transport = (): Transport => ({
  send: (text) => {
    sink += text.length;
  },
  close: () => undefined,
  bufferedAmount: () => 0,
  onDrain: () => () => undefined,
});

async function llmWs(): Promise<number> {
  const streams: Array<Subject<LLMEvent>> = [];
  const core = makeServer({
    store: memoryStore(),
    session: {
      provider: () => {
        const stream = new Subject<LLMEvent>();
        streams.push(stream);
        return stream;
      },
      tools: createToolRegistry([]),
      conversation: { systemPrompt: '' },
      maxToolSteps: 5,
      idleTimeoutMs: 60_000,
      maxMessageLength: 10_000,
      onDisconnect: 'continue',
      replay: { maxMessages: 5000, maxBytes: 2 * 1024 * 1024 },
      backpressure: { highWaterMark: 1 << 20, hardLimit: 1 << 24 },
      logger: silentLogger,
    },
    sessionTtlMs: 60_000,
    logger: silentLogger,
  });
  await core.ready();
  for (let i = 0; i < sessions; i++)
    core
      .opened(transport(), undefined)
      .receive(JSON.stringify({ type: 'user_message', id: `q${i}`, data: { text: 'hi' } }), false);
  const delta = { type: 'text', delta: ' token' } as const;
  const started = process.cpuUsage();
  for (let c = 0; c < chunks; c++) for (const stream of streams) stream.next({ ...delta });
  const used = process.cpuUsage(started);
  for (const stream of streams) {
    stream.next({ type: 'finish', reason: 'stop' });
    stream.complete();
  }
  await core.close();
  return ((used.user + used.system) * 1000) / (chunks * sessions);
}

function lean(): number {
  const sinks = Array.from({ length: sessions }, transport);
  let counter = 0;
  const started = process.cpuUsage();
  for (let c = 0; c < chunks; c++)
    for (let s = 0; s < sessions; s++) {
      const event = { type: 'text', delta: ' token' };
      (sinks[s] as Transport).send(
        JSON.stringify({
          type: 'llm_chunk',
          id: `l${counter++}`,
          data: { chunk: event.delta, isComplete: false, requestId: `q${s}` },
        }),
      );
    }
  const used = process.cpuUsage(started);
  return ((used.user + used.system) * 1000) / (chunks * sessions);
}

async function main(): Promise<void> {
  const figures: Array<{ llmWs: number; lean: number }> = [];
  for (let round = 0; round < rounds; round++) figures.push({ llmWs: await llmWs(), lean: lean() });
  const median = (values: number[]): number => values.sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
  const llmWsNs = median(figures.map((figure) => figure.llmWs));
  const leanNs = median(figures.map((figure) => figure.lean));
  console.log(
    `ns per chunk, ${sessions} sessions x ${chunks} chunks, median of ${rounds}: llm-ws ${llmWsNs.toFixed(0)}, lean ${leanNs.toFixed(0)}, added ${(llmWsNs - leanNs).toFixed(0)} (sink ${sink % 10})`,
  );
}

void main();
