/**
 * The "Memory bounds" figures of docs/guide/security.md: fills a WSServer (memory store) with SESSIONS abandoned
 * sessions (a 100 KB message and a 200 KB reply each, so about 0.7 MB of history and replay)
 * under a budget of BUDGET_MIB, then reports what the budget counts (heldMiB), the heap, RSS
 * and peak RSS. Run it with and without a heap limit:
 *
 *   BUDGET_MIB=64 SESSIONS=400 node [--max-old-space-size=128] --import tsx bench/memory-bounds.ts
 */
import { Observable } from 'rxjs';
import WebSocket from 'ws';
import type { LLMEvent } from '../src/llm/types';
import { WSServer } from '../src/server/ws-server';
import { silentLogger } from '../src/core/logger';
const budgetMiB = Number(process.env.BUDGET_MIB ?? 64);
const sessions = Number(process.env.SESSIONS ?? 600);
async function main() {
  const big = 'x'.repeat(100_000);
  const server = new WSServer({
    port: 0,
    hostname: '127.0.0.1',
    logger: silentLogger,
    builtinTools: false,
    rateLimit: false,
    maxConnections: 1000,
    maxMessageLength: 200_000,
    sessionMemoryBudgetBytes: budgetMiB * 1024 * 1024,
    llm: () =>
      new Observable<LLMEvent>((s) => {
        s.next({ type: 'text', delta: big });
        s.next({ type: 'text', delta: big });
        s.next({ type: 'finish', reason: 'stop' });
        s.complete();
      }),
  });
  await server.start();
  let peakRss = 0;
  const t = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);
  for (let i = 0; i < sessions; i++) {
    const ws = new WebSocket(server.url as string);
    await new Promise<void>((r) => ws.once('open', () => r()));
    ws.send(JSON.stringify({ type: 'user_message', id: 'm', data: { text: big } }));
    await new Promise<void>((r) =>
      ws.on('message', (d) => {
        if (String(d).startsWith('{"type":"llm_complete"')) r();
      }),
    );
    ws.terminate();
  }
  await new Promise((r) => setTimeout(r, 500));
  clearInterval(t);
  const held = server.getActiveSessions().reduce((n, s) => n + s.heldBytes, 0);
  const m = process.memoryUsage();
  console.log(
    JSON.stringify({
      node: process.version,
      maxOldSpace: process.execArgv.join(' '),
      budgetMiB,
      sessions,
      kept: server.getActiveSessions().length,
      heldMiB: +(held / 2 ** 20).toFixed(1),
      heapMiB: +(m.heapUsed / 2 ** 20).toFixed(1),
      rssMiB: +(m.rss / 2 ** 20).toFixed(1),
      peakRssMiB: +(peakRss / 2 ** 20).toFixed(1),
    }),
  );
  await server.stop();
}
void main();
