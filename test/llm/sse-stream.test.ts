import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import { readChatCompletionStream } from '../../src/llm/sse-stream';

/** A body that yields these pieces of text, one network read each. */
const body = (...pieces: string[]): ReadableStream<Uint8Array> => {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const piece of pieces) controller.enqueue(encoder.encode(piece));
      controller.close();
    },
  });
};
const chunk = (content: string) =>
  JSON.stringify({
    id: 'c',
    object: 'chat.completion.chunk',
    created: 0,
    model: 'm',
    choices: [{ index: 0, delta: { content }, finish_reason: null }],
  });
const contents = (chunks: Array<{ choices: Array<{ delta: { content?: string | null } }> }>) =>
  chunks.map((c) => c.choices[0]?.delta.content);

describe('readChatCompletionStream', () => {
  it('reads events split anywhere across network reads, in order, and stops at [DONE]', async () => {
    const text = `data: ${chunk('Hel')}\n\ndata: ${chunk('lo')}\n\ndata: [DONE]\n\ndata: ${chunk('after done')}\n\n`;
    const pieces = [text.slice(0, 7), text.slice(7, 60), text.slice(60, 61), text.slice(61)];
    const seen: ChatCompletionChunk[] = [];
    await readChatCompletionStream(body(...pieces), (c) => seen.push(c));
    expect(contents(seen)).toEqual(['Hel', 'lo']);
  });

  it('ignores comments and blank keep-alives, and ends quietly when the body ends without [DONE]', async () => {
    const seen: ChatCompletionChunk[] = [];
    await readChatCompletionStream(body(`: keep-alive\n\n`, `data: ${chunk('x')}\n\n`), (c) => seen.push(c));
    expect(contents(seen)).toEqual(['x']);
  });

  it.each([
    [
      'an error event',
      `event: error\ndata: {"error":{"message":"overloaded"}}\n\n`,
      'the model stream reported an error: overloaded',
    ],
    [
      'a chunk carrying an error',
      `data: {"error":{"message":"context too long"}}\n\n`,
      'the model stream reported an error: context too long',
    ],
    ['data that is not JSON', `data: {oops\n\n`, 'the model stream sent data that is not JSON: {oops'],
  ])('fails with a retryable upstream_error on %s', async (_name, text, message) => {
    await expect(
      readChatCompletionStream(body(`data: ${chunk('a')}\n\n`, text), () => undefined),
    ).rejects.toMatchObject({
      code: 'upstream_error',
      retryable: true,
      message,
    });
  });

  it.each([['null'], ['42'], ['"text"'], ['[1,2]']])(
    'fails with a readable upstream_error when data is %s, not a chunk',
    async (data) => {
      await expect(readChatCompletionStream(body(`data: ${data}\n\n`), () => undefined)).rejects.toMatchObject({
        code: 'upstream_error',
        message: `the model stream sent an event that is not a chat completion chunk: ${data}`,
      });
    },
  );

  it('fails with reply_too_large, without reading on, once one event passes maxEventBytes', async () => {
    const seen: ChatCompletionChunk[] = [];
    let reads = 0;
    const huge = `data: ${chunk('x'.repeat(5000))}\n\n`;
    const pieces = [
      `data: ${chunk('small')}\n\n`,
      ...Array.from({ length: 10 }, (_, i) => huge.slice(i * 1000, (i + 1) * 1000)),
      huge.slice(10_000),
    ];
    const counted = new ReadableStream<Uint8Array>({
      pull(controller) {
        const piece = pieces[reads++];
        if (piece === undefined) controller.close();
        else controller.enqueue(new TextEncoder().encode(piece));
      },
    });
    await expect(
      readChatCompletionStream(counted, (c) => seen.push(c), undefined, { maxEventBytes: 2500 }),
    ).rejects.toMatchObject({
      code: 'reply_too_large',
      retryable: false,
      message: 'the model stream sent one event of more than 2500 bytes; the reply was stopped',
    });
    expect(contents(seen)).toEqual(['small']);
    expect(reads).toBeLessThanOrEqual(5); // the small event's read and three of the large one, then it stopped
  });

  it('takes many small events in one read, however many bytes the read has', async () => {
    const seen: ChatCompletionChunk[] = [];
    const many = Array.from({ length: 100 }, (_, i) => `data: ${chunk(`w${i} `)}\n\n`).join('');
    await readChatCompletionStream(body(many), (c) => seen.push(c), undefined, { maxEventBytes: 200 });
    expect(seen).toHaveLength(100);
  });

  it('waits for pause() between reads', async () => {
    const order: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const reading = readChatCompletionStream(
      body(`data: ${chunk('one')}\n\n`, `data: ${chunk('two')}\n\n`),
      (c) => order.push(String(c.choices[0]?.delta.content)),
      () => {
        if (order.length !== 1) return undefined;
        // Opened only after every pending microtask and the body's reads (all in memory) had their turn.
        setImmediate(() => {
          order.push('opened');
          release();
        });
        return gate;
      },
    );
    await reading;
    expect(order).toEqual(['one', 'opened', 'two']);
  });
});
