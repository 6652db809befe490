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
import type { Transport } from '../src/core/ports';
import {
  chunkAll,
  countingTransport,
  cpuMicrosSince,
  finishAll,
  inProcessCore,
  median,
  sent,
  startReplies,
} from './in-process';

const [sessions = 100, chunks = 2000, rounds = 5] = process.argv.slice(2).map(Number);

async function llmWs(): Promise<number> {
  const { core, streams } = await inProcessCore();
  startReplies(core, sessions);
  const started = process.cpuUsage();
  for (let c = 0; c < chunks; c++) chunkAll(streams);
  const used = cpuMicrosSince(started);
  finishAll(streams, chunks);
  await core.close();
  return (used * 1000) / (chunks * sessions);
}

function lean(): number {
  const sinks = Array.from({ length: sessions }, countingTransport);
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
  return (cpuMicrosSince(started) * 1000) / (chunks * sessions);
}

async function main(): Promise<void> {
  const figures: Array<{ llmWs: number; lean: number }> = [];
  for (let round = 0; round < rounds; round++) figures.push({ llmWs: await llmWs(), lean: lean() });
  const llmWsNs = median(figures.map((figure) => figure.llmWs));
  const leanNs = median(figures.map((figure) => figure.lean));
  console.log(
    `ns per chunk, ${sessions} sessions x ${chunks} chunks, median of ${rounds}: llm-ws ${llmWsNs.toFixed(0)}, lean ${leanNs.toFixed(0)}, added ${(llmWsNs - leanNs).toFixed(0)} (sink ${sent.characters % 10})`,
  );
}

void main();
