import { MAX_CHUNK_FRAME_CHARS } from '../../src/core/send-queue';
import type { WSServer } from '../../src/server/ws-server';
import { createOpenAITestServer, type OpenAITestServer } from '../../src/testing/node';
import { startServerFor } from '../utils/test-server';
import { connectTestClient, type TestClient, userMessage } from '../utils/ws-test-client';

/**
 * One large piece from the model, within raised limits, over real sockets: it reaches a client
 * that reads at full speed in frames no larger than a frame's budget, and is never taken for a
 * slow reader (4408).
 */
describe('large chunks from the model', () => {
  let upstream: OpenAITestServer;
  let server: WSServer;
  let client: TestClient | undefined;

  beforeEach(async () => {
    upstream = await createOpenAITestServer();
    server = await startServerFor(upstream, {
      maxReplyTextBytes: 16 * 1024 * 1024,
      maxToolArgumentsBytes: 4 * 1024 * 1024,
    });
  });
  afterEach(async () => {
    await client?.close();
    await server.stop();
    await upstream.close();
  });

  it('splits a 10 MB text chunk into frames a fast reader takes without a 4408', async () => {
    const text = 'abcdefghij'.repeat(1_000_000);
    upstream.enqueue({ type: 'text', chunks: [text] });
    client = await connectTestClient(server.url as string);
    await client.waitFor('session');
    client.send(userMessage('big', 'one big chunk, please'));
    const complete = await client.waitFor('llm_complete', (m) => m.data.requestId === 'big', 30_000);
    expect(complete.data.fullText).toHaveLength(text.length);
    const chunks = client
      .forRequest('big')
      .flatMap((m) => (m.type === 'llm_chunk' && !m.data.isComplete ? [m.data.chunk] : []));
    expect(chunks.length).toBeGreaterThanOrEqual(Math.ceil(text.length / MAX_CHUNK_FRAME_CHARS));
    expect(Math.max(...chunks.map((chunk) => chunk.length))).toBeLessThanOrEqual(MAX_CHUNK_FRAME_CHARS);
    expect(chunks.join('')).toBe(text);
    // Still connected, on the same session.
    client.send(userMessage('next', 'and now?'));
    expect((await client.waitFor('llm_complete', (m) => m.data.requestId === 'next', 30_000)).data.fullText).toBe(
      'You said: and now?',
    );
  }, 60_000);

  it('sends a 3 MB tool-call argument whole in its tool_call messages', async () => {
    const expression = `${'1+'.repeat(1_500_000)}1`;
    upstream.enqueue(
      { type: 'tool_calls', calls: [{ name: 'calculate', arguments: { expression } }], fragmentSize: 256 * 1024 },
      { type: 'text', chunks: ['done'] },
    );
    client = await connectTestClient(server.url as string);
    await client.waitFor('session');
    client.send(userMessage('tool', 'add it up'));
    await client.waitFor('llm_complete', (m) => m.data.requestId === 'tool', 30_000);
    const calls = client.forRequest('tool').filter((m) => m.type === 'tool_call');
    expect(calls.map((m) => m.type === 'tool_call' && m.data.status)).toEqual(['start', 'error']);
    expect(
      calls.every((m) => m.type === 'tool_call' && (m.data.args as { expression: string }).expression === expression),
    ).toBe(true);
    // The tool's error quotes a bounded prefix, not the 3 MB argument.
    const result = client.forRequest('tool').find((m) => m.type === 'tool_result');
    expect(result?.type === 'tool_result' && (result.data.error ?? '').length).toBeLessThanOrEqual(1000);
  }, 60_000);
});
