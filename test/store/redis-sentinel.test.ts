/**
 * The Redis store on the master of Redis Sentinels (a master, its replica and 3 Sentinels,
 * started by this file), when the master is killed during a reply: the Sentinels promote the
 * replica, the store's connections find it, and the session goes on, resumed on the other
 * server, with its history; nothing is answered twice.
 */
import { filter, firstValueFrom } from 'rxjs';
import { redisStore } from '../../src/store/redis';
import { uniquePrefix } from '../utils/redis';
import { ask } from '../utils/redis-cluster';
import { type OwnSentinelSetup, startSentinelSetup } from '../utils/redis-sentinel';
import { numbered, useServeProcesses } from '../utils/serve-processes';

let sentinels: OwnSentinelSetup;
const served = useServeProcesses();

beforeAll(async () => {
  sentinels = await startSentinelSetup({ downAfterMs: 1000 });
}, 60_000);
afterAll(async () => {
  await sentinels?.stop();
});

describe('redisStore on the master of Redis Sentinels', () => {
  it('keeps the session when the master is killed mid-reply: the reply ends store_unavailable (retryable), then goes on on the other server', async () => {
    const prefix = uniquePrefix();
    const start = () =>
      served.startServer({
        store: redisStore({
          sentinels: sentinels.sentinels,
          name: sentinels.name,
          prefix,
          leaseMs: 1000,
          commandTimeoutMs: 1000,
        }),
      });
    const a = await start();
    const b = await start();
    const client = await served.clientThrough(a.port as number);
    const chunks = numbered(400);
    served.upstream.enqueue({ type: 'text', chunks, delayMs: 10 });
    const received: string[] = [];
    client.chunks$.subscribe(({ chunk }) => chunk && received.push(chunk));
    const reply = client.sendMessage('count to 400').then(
      (done) => ({ text: done.fullText }),
      (error: unknown) => ({ error: error as { code?: string; retryable?: boolean } }),
    );
    await firstValueFrom(client.chunks$.pipe(filter(({ chunk }) => chunk === 'c20 ')));
    const master = await sentinels.master();
    // Everything written so far is on the replica: what this test checks is llm-ws through a
    // failover, not Redis's asynchronous replication (docs/SCALING.md measures that).
    expect(await ask(master, 'WAIT', 1, 10_000)).toBe(1);
    await master.kill();
    // docs/SCALING.md: a Sentinel failover leaves every session unavailable for about a second,
    // so the running reply ends with store_unavailable (retryable) after the chunks it had.
    expect(await reply).toMatchObject({ error: { code: 'store_unavailable', retryable: true } });
    expect(received).toEqual(chunks.slice(0, received.length));
    expect(served.upstream.requests).toHaveLength(1);

    await sentinels.waitForMaster(master.port);
    served.moveClientTo(b.port as number);
    served.upstream.enqueue({ type: 'text', chunks: ['still ', 'here'] });
    expect((await client.sendMessage('are you there?')).fullText).toBe('still here');
    const history = served.upstream.requests[1]?.body.messages.slice(1) as Array<{ role: string; content: string }>;
    expect(history[0]).toEqual({ role: 'user', content: 'count to 400' });
    expect(history[history.length - 1]).toEqual({ role: 'user', content: 'are you there?' });
    expect(served.upstream.requests).toHaveLength(2);
  }, 120_000);
});
