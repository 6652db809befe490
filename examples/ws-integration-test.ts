/**
 * A whole round trip in one process, with nothing to configure: the OpenAI-compatible test
 * server plays the model, a WSServer relays it, a WSClient talks to it. Exits 0 when every
 * check passes, 1 otherwise. CI runs it under Node (tsx) and Bun.
 *
 *   npx tsx examples/ws-integration-test.ts
 *   bun run examples/ws-integration-test.ts
 */
import assert from 'node:assert/strict';
import { lastValueFrom, toArray } from 'rxjs';
import { openAIProvider, silentLogger, WSClient, WSServer } from 'llm-ws';
import { createOpenAITestServer } from 'llm-ws/testing/node';

async function main(): Promise<void> {
  const upstream = await createOpenAITestServer();
  const server = new WSServer({
    port: 0,
    hostname: '127.0.0.1',
    logger: silentLogger,
    llm: openAIProvider({ baseURL: upstream.baseURL, apiKey: 'test', model: 'test-model', maxRetries: 0 }),
  });
  await server.start();
  const client = new WSClient({ url: server.endpoint.url });
  const check = async (name: string, run: () => Promise<void>): Promise<void> => {
    await run();
    console.log(`ok - ${name}`);
  };

  try {
    await client.connect();

    await check('streams a reply chunk by chunk', async () => {
      upstream.enqueue({ type: 'text', chunks: ['Hello', ', ', 'world'] });
      const events = await lastValueFrom(client.send('hi').pipe(toArray()));
      const text = events.map((event) => (event.type === 'llm_chunk' ? event.data.chunk : '')).join('');
      assert.equal(text, 'Hello, world');
      assert.equal(events[events.length - 1]?.type, 'llm_complete');
    });

    await check('runs a tool and answers with its result', async () => {
      upstream.enqueue(
        { type: 'tool_calls', calls: [{ name: 'calculate', arguments: { expression: '2+3*4' } }] },
        { type: 'text', chunks: ['It is 14.'] },
      );
      const results: unknown[] = [];
      const stop = client.onToolResult(({ result }) => results.push(result));
      const reply = await client.sendMessage('what is 2+3*4?');
      stop();
      assert.deepEqual(results, [{ expression: '2+3*4', result: 14 }]);
      assert.equal(reply.fullText, 'It is 14.');
    });

    await check('aborts a running reply, cancelling the model request', async () => {
      upstream.enqueue({ type: 'stall', chunks: ['Once '] });
      const reply = client.sendMessage('a story');
      await new Promise<void>((resolve) => {
        const stop = client.onLLMChunk(() => {
          stop();
          resolve();
        });
      });
      await client.abort();
      assert.equal((await reply).finishReason, 'aborted');
      assert.equal(await upstream.requests[upstream.requests.length - 1]?.ended, 'client_closed');
    });

    await check('keeps and clears the history', async () => {
      const history = await client.getHistory();
      assert.equal(history.length, 8); // 3 questions, a tool round, 3 answers (the last one cut short)
      // Each message has an id (and its parent's): the rest is what was said.
      const { role, content, finishReason } = history[history.length - 1] ?? {};
      assert.deepEqual(
        { role, content, finishReason },
        { role: 'assistant', content: 'Once ', finishReason: 'aborted' },
      );
      await client.clearHistory();
      assert.deepEqual(await client.getHistory(), []);
    });
  } finally {
    client.disconnect();
    await server.stop();
    await upstream.close();
  }
}

main().then(
  () => console.log('all checks passed'),
  (error: unknown) => {
    console.error('not ok -', error);
    process.exit(1);
  },
);
