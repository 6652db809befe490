/**
 * The "done when": two `llm-ws serve --redis-url` processes behind one address (a TCP
 * proxy standing in for a load balancer without sticky sessions) behave as one server to a
 * client moved between them mid-reply, and the conversation outlives the process that began it.
 */
import { filter, firstValueFrom } from 'rxjs';
import { isolatedRedisKeys, TEST_REDIS_URL } from '../utils/redis';
import { numbered, useServeProcesses } from '../utils/serve-processes';

const keys = isolatedRedisKeys();
const served = useServeProcesses();

/** Starts `llm-ws serve` on the shared Redis; resolves with its port. */
const serveProcess = () =>
  served.serveProcess(
    ['--redis-url', TEST_REDIS_URL, '--redis-prefix', keys.prefix],
    `sessions shared through Redis at redis://${new URL(TEST_REDIS_URL).host} (prefix ${keys.prefix})`,
  );

describe('two llm-ws serve processes on one Redis', () => {
  it('deliver every chunk once to a client moved mid-reply, and keep the history after the first process is killed', async () => {
    const [first, second] = await Promise.all([serveProcess(), serveProcess()]);
    const c = await served.clientThrough(first.port);
    const chunks = numbered(200);
    served.upstream.enqueue({ type: 'text', chunks, delayMs: 5 });
    const received: string[] = [];
    c.chunks$.subscribe(({ chunk }) => chunk && received.push(chunk));
    const reply = c.sendMessage('count to 200');
    await firstValueFrom(c.chunks$.pipe(filter(({ chunk }) => chunk === 'c40 ')));
    served.moveClientTo(second.port);
    expect((await reply).fullText).toBe(chunks.join(''));
    expect(received).toEqual(chunks);
    expect(served.upstream.requests).toHaveLength(1);
    expect(served.proxy?.connections).toBe(2);

    await served.kill(first);
    served.upstream.enqueue({ type: 'text', chunks: ['still ', 'here'] });
    expect((await c.sendMessage('are you there?')).fullText).toBe('still here');
    expect(served.upstream.requests[1]?.body.messages.slice(1)).toEqual([
      { role: 'user', content: 'count to 200' },
      { role: 'assistant', content: chunks.join('') },
      { role: 'user', content: 'are you there?' },
    ]);
  }, 60_000);

  it('tell a client that moved away from a process killed mid-reply that the reply was interrupted, then carry on', async () => {
    const [first, second] = await Promise.all([serveProcess(), serveProcess()]);
    const c = await served.clientThrough(first.port);
    served.upstream.enqueue({ type: 'stall', chunks: ['half ', 'a '] });
    const reply = c.sendMessage('a story');
    await firstValueFrom(c.chunks$.pipe(filter(({ chunk }) => chunk === 'a ')));
    served.moveClientTo(second.port);
    await firstValueFrom(c.status$.pipe(filter((status) => status === 'connected')));
    await served.kill(first);
    await expect(reply).rejects.toMatchObject({ code: 'reply_interrupted', retryable: true });

    served.upstream.enqueue({ type: 'text', chunks: ['the end'] });
    expect((await c.sendMessage('again please')).fullText).toBe('the end');
    const contents = served.upstream.requests[1]?.body.messages.map((m: { content: string }) => m.content);
    expect(contents).toEqual(expect.arrayContaining(['a story', 'again please']));
  }, 60_000);
});
