/**
 * The cost of one more tab on a shared session (`resume` with `share`): a reply's chunks are sent
 * to every connection of the session, so each tab adds a socket write per frame. One WSServer
 * session with `tabs` `ws` connections over loopback, all in this process: the CPU per chunk
 * counts the server and its clients' reading together (an upper bound of the server's share),
 * against the same session with one tab, measured in the same run. What
 * `maxConnectionsPerSession` (32 by default) bounds.
 *
 *   npx tsx bench/fan-out.ts [chunks=2000] [rounds=5]     (or npm run bench -- --only=fanout)
 */
import { Subject } from 'rxjs';
import WebSocket from 'ws';
import { silentLogger } from '../src/core/logger';
import type { LLMEvent } from '../src/llm/types';
import { WSServer } from '../src/server/ws-server';

/** Tabs on the session, in the order measured; 1 is the baseline. */
export const FAN_OUT_TABS = [1, 4, 16, 32, 128] as const;

/** One row: CPU per chunk with `tabs` tabs, and per tab past the first. */
export interface FanOutFigures {
  readonly tabs: number;
  /** CPU per chunk of the reply, all tabs together, in µs. */
  readonly usPerChunk: number;
  /** That against one tab. */
  readonly ratio: number;
  /** What each tab past the first adds per chunk, in µs. */
  readonly usPerExtraTab: number;
}

/** CPU per chunk (µs) of one reply streamed to a session with `tabs` connections over loopback sockets. */
async function perChunk(tabs: number, chunks: number): Promise<number> {
  let stream: Subject<LLMEvent> | undefined;
  const server = new WSServer({
    port: 0,
    hostname: '127.0.0.1',
    logger: silentLogger,
    builtinTools: false,
    llm: () => (stream = new Subject<LLMEvent>()),
    maxConnections: tabs + 10,
    maxConnectionsPerSession: tabs,
    rateLimit: false,
  });
  await server.start();
  const sockets: WebSocket[] = [];
  try {
    const open = async (): Promise<{ socket: WebSocket; greeting: { sessionId: string; resumeToken: string } }> => {
      const socket = new WebSocket(server.url as string);
      sockets.push(socket);
      const greeting = await new Promise<{ sessionId: string; resumeToken: string }>((resolve, reject) => {
        socket.once('message', (data) =>
          resolve((JSON.parse(String(data)) as { data: { sessionId: string; resumeToken: string } }).data),
        );
        socket.once('error', reject);
      });
      return { socket, greeting };
    };
    const owner = await open();
    const { sessionId, resumeToken } = owner.greeting;
    const done: Array<Promise<void>> = [];
    const whenComplete = (socket: WebSocket): Promise<void> =>
      new Promise((resolve) => {
        const onMessage = (data: unknown): void => {
          if (String(data).startsWith('{"type":"llm_complete"')) {
            socket.off('message', onMessage);
            resolve();
          }
        };
        socket.on('message', onMessage);
      });
    done.push(whenComplete(owner.socket));
    for (let i = 1; i < tabs; i++) {
      const tab = await open();
      const joined = new Promise<void>((resolve) => tab.socket.once('message', () => resolve()));
      tab.socket.send(
        JSON.stringify({ type: 'resume', id: 'r', data: { sessionId, resumeToken, lastSeq: 0, share: true } }),
      );
      await joined;
      done.push(whenComplete(tab.socket));
    }
    owner.socket.send(JSON.stringify({ type: 'user_message', id: 'q', data: { text: 'hi' } }));
    while (!stream) await new Promise((resolve) => setTimeout(resolve, 1));
    const started = process.cpuUsage();
    for (let c = 0; c < chunks; c++) {
      stream.next({ type: 'text', delta: ' token' });
      // A model's pace, coarsely: the event loop turns between batches, so frames go out as they would.
      if (c % 50 === 49) await new Promise((resolve) => setImmediate(resolve));
    }
    stream.next({ type: 'finish', reason: 'stop' });
    stream.complete();
    await Promise.all(done);
    const used = process.cpuUsage(started);
    return (used.user + used.system) / chunks;
  } finally {
    for (const socket of sockets) socket.terminate();
    await server.stop();
  }
}

/** The fan-out figures: medians of `rounds`, the tab counts alternating within each round. */
export async function fanOutCost(chunks = 2000, rounds = 5): Promise<FanOutFigures[]> {
  const samples = new Map<number, number[]>(FAN_OUT_TABS.map((tabs) => [tabs, []]));
  for (let round = 0; round < rounds; round++)
    for (const tabs of FAN_OUT_TABS) samples.get(tabs)?.push(await perChunk(tabs, chunks));
  const median = (values: number[]): number =>
    [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
  const one = median(samples.get(1) ?? []);
  return FAN_OUT_TABS.map((tabs) => {
    const us = median(samples.get(tabs) ?? []);
    return { tabs, usPerChunk: us, ratio: us / one, usPerExtraTab: tabs === 1 ? 0 : (us - one) / (tabs - 1) };
  });
}

/** The figures as a Markdown table. */
export function fanOutMarkdown(figures: readonly FanOutFigures[], chunks: number): string {
  return [
    `### Fan-out: one reply of ${chunks} chunks to one session with N tabs (loopback, server and clients in one process, CPU; ratios against 1 tab)`,
    '',
    '| tabs | µs per chunk | × one tab | µs per extra tab |',
    '|---|---|---|---|',
    ...figures.map(
      (row) =>
        `| ${row.tabs} | ${row.usPerChunk.toFixed(1)} | ${row.ratio.toFixed(2)} | ${row.tabs === 1 ? '' : row.usPerExtraTab.toFixed(2)} |`,
    ),
  ].join('\n');
}

if (require.main === module) {
  const [chunks = 2000, rounds = 5] = process.argv.slice(2).map(Number);
  void fanOutCost(chunks, rounds).then((figures) => {
    console.log(fanOutMarkdown(figures, chunks));
  });
}
