import { CompleteMessage } from '../../src/protocol/codecs';
import { defineTool } from '../../src/tools/types';
import { useLoopbackServer } from '../utils/loopback-server';
import { control, userMessage } from '../utils/ws-test-client';

/** The reply's usage on `llm_complete`, over real sockets with the OpenAI-compatible test server as the model. */
const loopback = useLoopbackServer();

const echo = defineTool({
  name: 'echo',
  description: 'Echoes its input',
  parameters: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
  execute: (args: { text: string }) => args.text,
});

describe('usage on llm_complete', () => {
  it('sums input, output, reasoning and cached tokens over every model call of the reply', async () => {
    await loopback.start({ tools: [echo] });
    loopback.upstream.enqueue(
      {
        type: 'tool_calls',
        reasoning: ['Hmm'],
        cachedTokens: 1,
        calls: [{ id: 'call_1', name: 'echo', arguments: { text: 'x' } }],
      },
      { type: 'text', chunks: ['All ', 'done.'], cachedTokens: 3 },
    );
    const client = await loopback.connect();
    client.send(userMessage('m1', 'one two three'));
    const complete = await client.waitFor('llm_complete');
    // What the test server reported for each call, summed: the prompt is the words of the messages.
    const first = await loopback.upstream.request(0);
    const second = await loopback.upstream.request(1);
    expect(first.body.stream_options).toEqual({ include_usage: true });
    expect(second.body.stream_options).toEqual({ include_usage: true });
    const words = (body: { messages: Array<{ content: unknown }> }) =>
      body.messages.reduce(
        (sum, m) =>
          sum +
          String(m.content ?? '')
            .split(/\s+/)
            .filter(Boolean).length,
        0,
      );
    const prompt = words(first.body) + words(second.body);
    expect(complete.data.usage).toEqual({
      promptTokens: prompt,
      // The test server counts a token per streamed piece. The first call: its reasoning piece, the
      // call's header and its 12 characters of arguments in two fragments; the second: two chunks.
      completionTokens: 6,
      totalTokens: prompt + 6,
      reasoningTokens: 1,
      cachedTokens: 4,
    });
    expect(complete.data.usage?.estimated).toBeUndefined();
  });

  it('estimates the usage of a call the endpoint reported none for, and says so', async () => {
    await loopback.start();
    loopback.upstream.enqueue({ type: 'text', chunks: ['abcd', 'efgh'], omitUsage: true });
    const client = await loopback.connect();
    client.send(userMessage('m1', 'hello'));
    const complete = await client.waitFor('llm_complete');
    // 8 characters out at 4 a token; the prompt from the system prompt and the message.
    expect(complete.data.usage).toMatchObject({ completionTokens: 2, estimated: true });
    expect(complete.data.usage?.promptTokens).toBeGreaterThanOrEqual(2);
  });

  it('keeps the conversation total: every reply summed, on the answers to get_status and get_history', async () => {
    await loopback.start();
    loopback.upstream.enqueue(
      { type: 'text', chunks: ['one ', 'two'], cachedTokens: 2 },
      { type: 'text', chunks: ['three'], omitUsage: true },
    );
    const client = await loopback.connect();
    client.send(control('s0', 'get_status'));
    expect((await client.waitFor('status', (m) => m.data.requestId === 's0')).data.usage).toBeUndefined();
    client.send(userMessage('m1', 'count'));
    const first = (await client.waitFor('llm_complete', (m) => m.data.requestId === 'm1')).data.usage;
    client.send(userMessage('m2', 'more'));
    const second = (await client.waitFor('llm_complete', (m) => m.data.requestId === 'm2')).data.usage;
    const total = {
      promptTokens: (first?.promptTokens ?? 0) + (second?.promptTokens ?? 0),
      completionTokens: (first?.completionTokens ?? 0) + (second?.completionTokens ?? 0),
      totalTokens: (first?.totalTokens ?? 0) + (second?.totalTokens ?? 0),
      cachedTokens: 2,
      // The second reply's usage was estimated: so is the total.
      estimated: true,
    };
    expect(total.totalTokens).toBeGreaterThan(first?.totalTokens ?? 0);
    client.send(control('s1', 'get_status'));
    expect((await client.waitFor('status', (m) => m.data.requestId === 's1')).data.usage).toEqual(total);
    client.send(control('h1', 'get_history'));
    expect((await client.waitFor('history', (m) => m.data.requestId === 'h1')).data.usage).toEqual(total);
  });

  it('decodes with old and new fields alike: usage is optional, and so is each of its details', () => {
    const base = { type: 'llm_complete', id: 'x', data: { fullText: '', finishReason: 'stop' } };
    expect(CompleteMessage.is(base)).toBe(true);
    const usage = { promptTokens: 1, completionTokens: 2, totalTokens: 3, cachedTokens: 1, reasoningTokens: 1 };
    expect(CompleteMessage.is({ ...base, data: { ...base.data, usage } })).toBe(true);
    expect(CompleteMessage.is({ ...base, data: { ...base.data, usage: { ...usage, cachedTokens: 'many' } } })).toBe(
      false,
    );
  });
});
