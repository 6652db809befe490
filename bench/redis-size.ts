// How much Redis one idle session takes after one short exchange: `npx tsx bench/redis-size.ts [unacked]`
// (needs Redis at REDIS_URL or 127.0.0.1:6379). The figures are in docs/SCALING.md.
import { Redis } from 'ioredis';
import { redisStore } from '../src/store/redis';
import { createOpenAITestServer, wordChunks } from '../src/testing/node';
import { startServerFor } from '../test/utils/test-server';
import { connectTestClient, seqsOf, userMessage } from '../test/utils/ws-test-client';

async function main(): Promise<void> {
  const prefix = `size-${Date.now()}:`;
  const upstream = await createOpenAITestServer();
  const server = await startServerFor(upstream, { store: redisStore({ prefix }) });
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { protocol: 2 });
  const N = 200;
  const answer = 'A fairly typical answer of about sixty words. '.repeat(6);
  upstream.respondWith(() => ({ type: 'text', chunks: wordChunks(answer) }));
  for (let i = 0; i < N; i++) {
    const c = await connectTestClient(server.url as string);
    await c.waitFor('session');
    c.send(userMessage('q1', 'Tell me something in about sixty words, please.'));
    await c.waitFor('status', (m) => m.data.requestId === 'q1' && m.data.status === 'idle');
    const ack = Math.max(...seqsOf(c.received));
    const unacked = process.argv[2] === 'unacked';
    if (!unacked) {
      c.send({ type: 'ping', id: 'p', data: { lastSeq: ack } });
      await c.waitFor('pong');
    }
    await c.close();
  }
  await new Promise((r) => setTimeout(r, 500));
  const keys = await redis.keys(`${prefix}*`);
  let total = 0;
  const byPart: Record<string, number> = {};
  for (const key of keys) {
    const bytes = Number(await redis.memory('USAGE', key));
    total += bytes;
    const part = key.split(':').pop() as string;
    byPart[part] = (byPart[part] ?? 0) + bytes;
  }
  console.log(
    `${N} sessions (${process.argv[2] ?? 'acked'}): ${(total / N).toFixed(0)} bytes each`,
    Object.fromEntries(Object.entries(byPart).map(([k, v]) => [k, Math.round(v / N)])),
  );
  if (keys.length) await redis.del(...keys);
  await redis.quit();
  await server.stop();
  await upstream.close();
}
void main();
