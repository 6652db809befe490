/**
 * Per-principal token budgets and message rates over real sockets, with the OpenAI-compatible test
 * server as the model: counted from each call's usage, refused with `quota_exceeded` and
 * `retryAfterMs`, a reply that crosses the budget stopped before its next model call, and one
 * budget shared by two servers through the real Redis.
 */
import type { IncomingMessage } from 'node:http';
import type { QuotaCounter } from '../../src/core/ports';
import { memoryQuotaCounter } from '../../src/store/memory-quota';
import { redisQuotaCounter } from '../../src/store/redis';
import { defineTool } from '../../src/tools/types';
import { useLoopbackServer } from '../utils/loopback-server';
import { isolatedRedisKeys, TEST_REDIS_URL } from '../utils/redis';
import { startServerFor } from '../utils/test-server';
import { control, userMessage } from '../utils/ws-test-client';

const loopback = useLoopbackServer();
const keys = isolatedRedisKeys();

const HOUR_MS = 3_600_000;

const echo = defineTool({
  name: 'echo',
  description: 'Echoes its input',
  parameters: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
  execute: (args: { text: string }) => args.text,
});

/** Each connection's principal is the `user` of its URL's query. */
const byUser = (request: IncomingMessage): { user: string } => ({
  user: new URL(request.url ?? '/', 'http://localhost').searchParams.get('user') ?? 'nobody',
});

describe('token budget', () => {
  it('counts what each call reported, and refuses the next message once it is spent, with retryAfterMs up to the period', async () => {
    const counter = memoryQuotaCounter();
    await loopback.start({ tokenBudget: { tokens: 5, periodMs: HOUR_MS }, quotaCounter: counter });
    loopback.upstream.enqueue({ type: 'text', chunks: ['one ', 'two ', 'three'] });
    const client = await loopback.connect();
    client.send(userMessage('m1', 'count to three please'));
    const complete = await client.waitFor('llm_complete');
    // Without `authenticate` every connection is the one principal `undefined` (its key: `null`).
    expect(await counter.add('tokens:null', 0, HOUR_MS)).toMatchObject({ used: complete.data.usage?.totalTokens });
    expect(complete.data.usage?.totalTokens).toBeGreaterThanOrEqual(5);

    client.send(userMessage('m2', 'and to four?'));
    const refused = await client.waitFor('error', (m) => m.data.requestId === 'm2');
    expect(refused.data).toMatchObject({ code: 'quota_exceeded', retryable: true });
    expect(refused.data.retryAfterMs).toBeGreaterThan(HOUR_MS - 60_000);
    expect(refused.data.retryAfterMs).toBeLessThanOrEqual(HOUR_MS);
    await client.waitFor('status', (m) => m.data.requestId === 'm2' && m.data.status === 'idle');
    // Refused before anything: no model call, and the conversation does not hold the message.
    expect(loopback.upstream.requests).toHaveLength(1);
    client.send(control('h1', 'get_history'));
    const history = await client.waitFor('history', (m) => m.data.requestId === 'h1');
    expect(history.data.messages.map((m) => m.content)).toEqual(['count to three please', 'one two three']);
    await counter.close();
  });

  it('counts the estimate of a call the model reported no usage for', async () => {
    const counter = memoryQuotaCounter();
    await loopback.start({ tokenBudget: { tokens: 1000, periodMs: HOUR_MS }, quotaCounter: counter });
    loopback.upstream.enqueue({ type: 'text', chunks: ['abcd', 'efgh'], omitUsage: true });
    const client = await loopback.connect();
    client.send(userMessage('m1', 'hello'));
    const complete = await client.waitFor('llm_complete');
    expect(complete.data.usage?.estimated).toBe(true);
    expect((await counter.add('tokens:null', 0, HOUR_MS)).used).toBe(complete.data.usage?.totalTokens);
    await counter.close();
  });

  it('lets a call that starts within the budget finish, then stops the reply that crossed it before its next model call', async () => {
    await loopback.start({ tools: [echo], tokenBudget: { tokens: 3, periodMs: HOUR_MS } });
    loopback.upstream.enqueue(
      { type: 'tool_calls', calls: [{ id: 'call_1', name: 'echo', arguments: { text: 'a long argument' } }] },
      { type: 'text', chunks: ['never asked for'] },
    );
    const client = await loopback.connect();
    client.send(userMessage('m1', 'echo something long for me'));
    // The first call ran whole, and its tool too; the second call is not made.
    await client.waitFor('tool_result', (m) => m.data.requestId === 'm1');
    const stopped = await client.waitFor('error', (m) => m.data.requestId === 'm1');
    expect(stopped.data).toMatchObject({ code: 'quota_exceeded', retryable: true });
    expect(stopped.data.retryAfterMs).toBeGreaterThan(0);
    await client.waitFor('status', (m) => m.data.requestId === 'm1' && m.data.status === 'idle');
    expect(loopback.upstream.requests).toHaveLength(1);
    // The tool round stays in the conversation, as after any failed model call.
    client.send(control('h1', 'get_history'));
    const history = await client.waitFor('history', (m) => m.data.requestId === 'h1');
    expect(history.data.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'tool']);
  });

  it('is per principal', async () => {
    const server = await loopback.start({ authenticate: byUser, tokenBudget: { tokens: 1, periodMs: HOUR_MS } });
    loopback.upstream.enqueue({ type: 'text', chunks: ['hi ann'] }, { type: 'text', chunks: ['hi bob'] });
    const ann = await loopback.connect(`${server.url as string}?user=ann`);
    ann.send(userMessage('a1', 'hello'));
    await ann.waitFor('llm_complete');
    ann.send(userMessage('a2', 'hello again'));
    expect((await ann.waitFor('error', (m) => m.data.requestId === 'a2')).data.code).toBe('quota_exceeded');
    const bob = await loopback.connect(`${server.url as string}?user=bob`);
    bob.send(userMessage('b1', 'hello'));
    expect((await bob.waitFor('llm_complete')).data.fullText).toBe('hi bob');
  });
});

describe('message rate', () => {
  it('refuses messages past the rate with retryAfterMs; refused ones do not count', async () => {
    const counter = memoryQuotaCounter();
    await loopback.start({ messageRate: { messages: 2, periodMs: 60_000 }, quotaCounter: counter });
    loopback.upstream.enqueue({ type: 'text', chunks: ['1'] }, { type: 'text', chunks: ['2'] });
    const client = await loopback.connect();
    for (const id of ['m1', 'm2']) {
      client.send(userMessage(id, 'go'));
      await client.waitFor('llm_complete', (m) => m.data.requestId === id);
    }
    client.send(userMessage('m3', 'go'));
    const refused = await client.waitFor('error', (m) => m.data.requestId === 'm3');
    expect(refused.data).toMatchObject({ code: 'quota_exceeded', retryable: true });
    expect(refused.data.retryAfterMs).toBeGreaterThan(0);
    expect(refused.data.retryAfterMs).toBeLessThanOrEqual(60_000);
    expect(loopback.upstream.requests).toHaveLength(2);
    expect((await counter.add('messages:null', 0, 60_000)).used).toBe(2);
    await counter.close();
  });
});

describe('when the counter is slow or away', () => {
  it('lets messages through unchecked while the counter fails (an outage locks no one out)', async () => {
    const away: QuotaCounter = { add: () => Promise.reject(new Error('counter away')), close: () => Promise.resolve() };
    await loopback.start({ tokenBudget: { tokens: 1, periodMs: HOUR_MS }, quotaCounter: away });
    loopback.upstream.enqueue({ type: 'text', chunks: ['one'] }, { type: 'text', chunks: ['two'] });
    const client = await loopback.connect();
    for (const id of ['m1', 'm2']) {
      client.send(userMessage(id, 'go'));
      expect((await client.waitFor('llm_complete', (m) => m.data.requestId === id)).data.finishReason).toBe('stop');
    }
  });

  it('ends a reply aborted while its limits are asked as an empty aborted reply, with no model call', async () => {
    let answer: (() => void) | undefined;
    const inner = memoryQuotaCounter();
    const slow: QuotaCounter = {
      add: (key, amount, periodMs) =>
        new Promise((resolve) => {
          answer = () => resolve(inner.add(key, amount, periodMs));
        }),
      close: () => inner.close(),
    };
    // 'reject': a second message shows the first is running (not queued behind it) while its limits are asked.
    await loopback.start({
      messageRate: { messages: 10, periodMs: 60_000 },
      quotaCounter: slow,
      concurrentMessages: 'reject',
    });
    const client = await loopback.connect();
    client.send(userMessage('m1', 'go'));
    client.send(userMessage('m2', 'too soon'));
    expect((await client.waitFor('error', (m) => m.data.requestId === 'm2')).data.code).toBe('busy');
    client.send(control('a1', 'abort', 'm1'));
    const complete = await client.waitFor('llm_complete', (m) => m.data.requestId === 'm1');
    expect(complete.data).toMatchObject({ fullText: '', finishReason: 'aborted' });
    answer?.();
    await client.waitFor('status', (m) => m.data.requestId === 'm1' && m.data.status === 'idle');
    expect(loopback.upstream.requests).toHaveLength(0);
    await slow.close();
  });
});

describe('one budget for two servers on one Redis', () => {
  it('spends a principal’s budget on one server and refuses it on the other; another principal goes on', async () => {
    const counters = [0, 1].map(() => redisQuotaCounter({ url: TEST_REDIS_URL, prefix: keys.prefix }));
    const options = { authenticate: byUser, tokenBudget: { tokens: 1, periodMs: HOUR_MS } };
    const first = await loopback.start({ ...options, quotaCounter: counters[0] });
    const second = await startServerFor(loopback.upstream, { ...options, quotaCounter: counters[1] });
    try {
      loopback.upstream.enqueue({ type: 'text', chunks: ['spent'] }, { type: 'text', chunks: ['hi bob'] });
      const annOnFirst = await loopback.connect(`${first.url as string}?user=ann`);
      annOnFirst.send(userMessage('a1', 'hello'));
      await annOnFirst.waitFor('llm_complete');

      const annOnSecond = await loopback.connect(`${second.url as string}?user=ann`);
      annOnSecond.send(userMessage('a2', 'hello'));
      const refused = await annOnSecond.waitFor('error', (m) => m.data.requestId === 'a2');
      expect(refused.data.code).toBe('quota_exceeded');
      expect(refused.data.retryAfterMs).toBeGreaterThan(HOUR_MS - 60_000);

      const bobOnSecond = await loopback.connect(`${second.url as string}?user=bob`);
      bobOnSecond.send(userMessage('b1', 'hello'));
      expect((await bobOnSecond.waitFor('llm_complete')).data.fullText).toBe('hi bob');
      expect(loopback.upstream.requests).toHaveLength(2);
    } finally {
      await second.stop();
      await Promise.all(counters.map((counter) => counter.close()));
    }
  });
});
