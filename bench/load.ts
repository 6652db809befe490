/**
 * The load: N plain WebSocket clients in their own process, each asking for one reply of K
 * stamped chunks at once. Checks that every client got all its chunks, in order, exactly once
 * (a fast wrong answer scores nothing), and measures what the relay adds. Prints one JSON line.
 *
 *   node --import tsx bench/load.ts '{"url":"ws://127.0.0.1:3000/ws","streams":100,"chunks":250,"delayMs":20}'
 */
import { wallClockMs } from '../src/testing/node';
import { type BenchConnection, openConnection, type Transport } from './clients';
import { readStamps } from './stamp';

export interface LoadSpec {
  readonly url: string;
  /** @default 'ws' */
  readonly transport?: Transport;
  readonly streams: number;
  readonly chunks: number;
  readonly delayMs: number;
  /**
   * Streams (among `streams`) whose client stops reading after its first chunk while asking
   * for a firehose (20,000 chunks of 1 KB, unpaced). They are not measured; the others are.
   */
  readonly stalled?: number;
  /** Run the streams this many times one after another (time to first chunk without queueing). @default 1 */
  readonly repeat?: number;
  /**
   * Reply starts in a herd: every client connects and gets its session first, then all send
   * their user_message in the same tick. @default false (each sends as soon as it is connected)
   */
  readonly together?: boolean;
}

/** What a stalled reader asks for: far more than socket buffers hold (about 20 MB). */
const STALLED_REQUEST = 'K=20000 D=0 P=1000';

export interface LoadResult {
  readonly ok: boolean;
  readonly problems: string[];
  readonly chunksDelivered: number;
  readonly elapsedMs: number;
  /** Client receive time minus upstream emit time, per chunk, in ms. */
  readonly latencyMs: { p50: number; p99: number; p999: number };
  /** From sending the user_message to the first chunk, per stream, in ms. */
  readonly firstChunkMs: { p50: number; p99: number };
  /** Bytes of llm_chunk frames per upstream chunk delivered. */
  readonly wireBytesPerChunk: number;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

interface StreamOutcome {
  firstChunkMs: number;
  bytes: number;
  delivered: number;
  problem?: string;
}

/** Resolves for everyone once `count` callers arrived (a client that failed arrives too, so none waits forever). */
function barrier(count: number): () => Promise<void> {
  let arrived = 0;
  let open = (): void => undefined;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return () => {
    if (++arrived === count) open();
    return opened;
  };
}

function runStream(
  spec: LoadSpec,
  index: number,
  latencies: number[],
  arrive?: () => Promise<void>,
): Promise<StreamOutcome> {
  return new Promise((resolve) => {
    // Assigned once below: the handlers handed to openConnection close over it.
    // eslint-disable-next-line prefer-const
    let socket: BenchConnection;
    let asked = false;
    let sentAt = 0;
    let firstChunkMs = Number.NaN;
    let bytes = 0;
    let expected = 0;
    let problem: string | undefined;
    const requestId = `load-${index}`;
    const finish = (): void => {
      socket.close();
      resolve({ firstChunkMs, bytes, delivered: expected, problem });
    };
    const handlers = {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as `BenchConnection.message`.
      message: (message: any, frameBytes: number, receivedAt: number): void => {
        if (message.type === 'session' && !asked) {
          asked = true;
          const ask = (): void => {
            sentAt = wallClockMs();
            socket.send({ type: 'user_message', id: requestId, data: { text: `K=${spec.chunks} D=${spec.delayMs}` } });
          };
          if (arrive) void arrive().then(ask);
          else ask();
          return;
        }
        if (message.data?.requestId !== requestId) return;
        if (message.type === 'llm_chunk' && message.data.chunk) {
          if (Number.isNaN(firstChunkMs)) firstChunkMs = receivedAt - sentAt;
          bytes += frameBytes;
          for (const stamp of readStamps(message.data.chunk)) {
            if (stamp.index !== expected)
              problem ??= `stream ${index}: chunk ${stamp.index} arrived where ${expected} was due`;
            expected++;
            latencies.push(receivedAt - stamp.emitMs);
          }
        } else if (message.type === 'llm_complete') {
          if (expected !== spec.chunks) problem ??= `stream ${index}: ${expected} of ${spec.chunks} chunks`;
          finish();
        } else if (message.type === 'error') {
          problem ??= `stream ${index}: error ${message.data.code}: ${message.data.message}`;
          finish();
        }
      },
      error: (error: Error): void => {
        if (!asked) void arrive?.();
        asked = true;
        problem ??= `stream ${index}: ${error.message}`;
        resolve({ firstChunkMs, bytes, delivered: expected, problem });
      },
    };
    socket = openConnection(spec.transport ?? 'ws', spec.url, handlers, wallClockMs);
  });
}

/** A client that asks for a firehose and stops reading after its first chunk; returns how to let it go. */
function runStalledStream(spec: LoadSpec, index: number): () => void {
  let sent = false;
  const requestId = `stalled-${index}`;
  const socket = openConnection(
    spec.transport ?? 'ws',
    spec.url,
    {
      message: (message) => {
        if (message.type === 'session' && !sent) {
          sent = true;
          socket.send({ type: 'user_message', id: requestId, data: { text: STALLED_REQUEST } });
        } else if (message.type === 'llm_chunk' && message.data?.requestId === requestId) {
          socket.stall();
        }
      },
      error: () => undefined,
    },
    wallClockMs,
  );
  return () => socket.destroy();
}

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const latencies: number[] = [];
  const stalled = spec.stalled ?? 0;
  const releaseStalled = Array.from({ length: stalled }, (_, i) => runStalledStream(spec, i));
  const started = wallClockMs();
  const streams: StreamOutcome[] = [];
  for (let round = 0; round < (spec.repeat ?? 1); round++) {
    const arrive = spec.together ? barrier(spec.streams - stalled) : undefined;
    streams.push(
      ...(await Promise.all(
        Array.from({ length: spec.streams - stalled }, (_, i) => runStream(spec, i, latencies, arrive)),
      )),
    );
  }
  const elapsedMs = wallClockMs() - started;
  for (const release of releaseStalled) release();
  latencies.sort((a, b) => a - b);
  const firsts = streams.map((s) => s.firstChunkMs).sort((a, b) => a - b);
  const delivered = streams.reduce((sum, s) => sum + s.delivered, 0);
  const problems = streams.flatMap((s) => (s.problem ? [s.problem] : []));
  return {
    ok: problems.length === 0 && delivered === (spec.streams - stalled) * spec.chunks * (spec.repeat ?? 1),
    problems: problems.slice(0, 5),
    chunksDelivered: delivered,
    elapsedMs,
    latencyMs: { p50: percentile(latencies, 50), p99: percentile(latencies, 99), p999: percentile(latencies, 99.9) },
    firstChunkMs: { p50: percentile(firsts, 50), p99: percentile(firsts, 99) },
    wireBytesPerChunk: streams.reduce((sum, s) => sum + s.bytes, 0) / Math.max(1, delivered),
  };
}

if (require.main === module) {
  void runLoad(JSON.parse(process.argv[2] as string) as LoadSpec).then((result) => {
    console.log(JSON.stringify(result));
    process.exit(0);
  });
}
