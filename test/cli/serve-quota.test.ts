/**
 * `llm-ws serve --token-budget` on two processes sharing one Redis: a budget spent through one
 * process is spent for the other too (the client is moved between them by a TCP proxy).
 */
import { isolatedRedisKeys, TEST_REDIS_URL } from '../utils/redis';
import { useServeProcesses } from '../utils/serve-processes';

const keys = isolatedRedisKeys();
const served = useServeProcesses();

describe('llm-ws serve --token-budget on two processes', () => {
  it('refuses on the second process a principal whose budget the first spent', async () => {
    const flags = ['--redis-url', TEST_REDIS_URL, '--redis-prefix', keys.prefix, '--token-budget', '1/1h'];
    const announced = 'each principal may spend 1 tokens per 3600 s, counted in Redis (every process together)';
    const [first, second] = await Promise.all([served.serveProcess(flags, announced), served.serveProcess(flags)]);
    const client = await served.clientThrough(first.port);
    served.upstream.enqueue({ type: 'text', chunks: ['spent'] });
    expect((await client.sendMessage('hello')).usage?.totalTokens).toBeGreaterThan(1);

    served.moveClientTo(second.port);
    await expect(client.sendMessage('hello again')).rejects.toMatchObject({
      code: 'quota_exceeded',
      retryable: true,
      retryAfterMs: expect.any(Number) as number,
    });
    expect(served.upstream.requests).toHaveLength(1);
  }, 60_000);
});
