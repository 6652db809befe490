/**
 * Two `llm-ws serve` processes sharing sessions through a Redis Cluster (`--redis-cluster`) or
 * the master of Redis Sentinels (`--redis-sentinel`), each started by this file: a client moved
 * between the processes mid-reply gets every chunk once, and a failover of the Sentinels' master
 * during a reply loses no session and answers nothing twice.
 */
import { filter, firstValueFrom } from 'rxjs';
import { uniquePrefix } from '../utils/redis';
import { type OwnRedisCluster, startRedisCluster } from '../utils/redis-cluster';
import { type OwnSentinelSetup, startSentinelSetup } from '../utils/redis-sentinel';
import { numbered, type Served, useServeProcesses } from '../utils/serve-processes';

const served = useServeProcesses();
const { serveProcess, clientThrough, moveClientTo } = served;

/** A reply of 200 chunks; the client is moved from `first` to `second` at chunk 40. */
async function moveMidReply(first: number, second: number): Promise<void> {
  const c = await clientThrough(first);
  const chunks = numbered(200);
  served.upstream.enqueue({ type: 'text', chunks, delayMs: 5 });
  const received: string[] = [];
  c.chunks$.subscribe(({ chunk }) => chunk && received.push(chunk));
  const reply = c.sendMessage('count to 200');
  await firstValueFrom(c.chunks$.pipe(filter(({ chunk }) => chunk === 'c40 ')));
  moveClientTo(second);
  expect((await reply).fullText).toBe(chunks.join(''));
  expect(received).toEqual(chunks);
  expect(served.upstream.requests).toHaveLength(1);
  expect(served.proxy?.connections).toBe(2);

  served.upstream.enqueue({ type: 'text', chunks: ['still ', 'here'] });
  expect((await c.sendMessage('are you there?')).fullText).toBe('still here');
  expect(served.upstream.requests[1]?.body.messages.slice(1)).toEqual([
    { role: 'user', content: 'count to 200' },
    { role: 'assistant', content: chunks.join('') },
    { role: 'user', content: 'are you there?' },
  ]);
}

describe('two llm-ws serve processes on a Redis Cluster', () => {
  let cluster: OwnRedisCluster;
  beforeAll(async () => {
    cluster = await startRedisCluster();
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  it('deliver every chunk once to a client moved mid-reply', async () => {
    const nodes = cluster.startupNodes
      .slice(0, 2)
      .map(({ host, port }) => `${host}:${port}`)
      .join(',');
    const flags = ['--redis-cluster', nodes, '--redis-prefix', uniquePrefix()];
    const announced = `sessions shared through the Redis Cluster at ${nodes.replace(',', ', ')}`;
    const [first, second] = await Promise.all([serveProcess(flags, announced), serveProcess(flags, announced)]);
    await moveMidReply(first.port, second.port);
  }, 90_000);
});

describe('two llm-ws serve processes on the master of Redis Sentinels', () => {
  let sentinels: OwnSentinelSetup;
  beforeAll(async () => {
    sentinels = await startSentinelSetup();
  }, 60_000);
  afterAll(async () => {
    await sentinels?.stop();
  });

  const start = (): Promise<[Served, Served]> => {
    const list = sentinels.sentinels.map(({ host, port }) => `${host}:${port}`).join(',');
    const flags = ['--redis-sentinel', list, '--redis-sentinel-name', sentinels.name, '--redis-prefix', uniquePrefix()];
    const announced = `sessions shared through the Redis master "${sentinels.name}" of the Sentinels at ${list.replace(/,/g, ', ')}`;
    return Promise.all([serveProcess(flags, announced), serveProcess(flags, announced)]);
  };

  it('deliver every chunk once to a client moved mid-reply', async () => {
    const [first, second] = await start();
    await moveMidReply(first.port, second.port);
  }, 90_000);

  it('keep the session through a planned failover of the master mid-reply: the reply completes, nothing is answered twice', async () => {
    const [first, second] = await start();
    const c = await clientThrough(first.port);
    const chunks = numbered(400);
    served.upstream.enqueue({ type: 'text', chunks, delayMs: 10 });
    const received: string[] = [];
    c.chunks$.subscribe(({ chunk }) => chunk && received.push(chunk));
    const reply = c.sendMessage('count to 400').then(
      (done) => ({ text: done.fullText }),
      (error: unknown) => ({ error: error as { code?: string; retryable?: boolean } }),
    );
    await firstValueFrom(c.chunks$.pipe(filter(({ chunk }) => chunk === 'c20 ')));
    await sentinels.failover();
    // docs/SCALING.md: a planned failover (SENTINEL FAILOVER) carries the reply through: the
    // Sentinels close the clients of the old master, and the store's connections send what was
    // unanswered again to the new one. Every chunk once.
    expect(await reply).toEqual({ text: chunks.join('') });
    expect(received).toEqual(chunks);
    expect(served.upstream.requests).toHaveLength(1);

    // The session lives on the new master: resumed on the other process, it goes on with its history.
    moveClientTo(second.port);
    served.upstream.enqueue({ type: 'text', chunks: ['still ', 'here'] });
    expect((await c.sendMessage('are you there?')).fullText).toBe('still here');
    const history = served.upstream.requests[1]?.body.messages.slice(1) as Array<{ role: string; content: string }>;
    expect(history[0]).toEqual({ role: 'user', content: 'count to 400' });
    expect(history[history.length - 1]).toEqual({ role: 'user', content: 'are you there?' });
    expect(served.upstream.requests).toHaveLength(2);
  }, 120_000);
});
