/**
 * Pause and resume over loopback: the real client, a real WSServer, the real openai SDK over HTTP
 * to the OpenAI-compatible test server. Gates (promises the test opens) decide when the model and
 * tools go on, so each pause lands where the test says, however loaded the machine.
 */
import { WSClient } from '../../src/client/node';
import type { ServerMessage } from '../../src/protocol/codecs';
import type { WSServer } from '../../src/server/ws-server';
import { createOpenAITestServer, type OpenAITestServer } from '../../src/testing/node';
import { defineTool } from '../../src/tools';
import { gate, gatedProvider } from '../utils/gated-provider';
import { startServerFor } from '../utils/test-server';
import { waitUntil, waitUntilTrue } from '../utils/wait-until';

let upstream: OpenAITestServer;
let server: WSServer | undefined;
let client: WSClient | undefined;

/** Starts the server and a connected client that records every message it gets. */
async function start(options: Parameters<typeof startServerFor>[1] = {}) {
  server = await startServerFor(upstream, options);
  client = new WSClient({ url: server.url as string });
  const received: ServerMessage[] = [];
  const listeners = new Set<() => void>();
  client.messages$.subscribe((message) => {
    received.push(message);
    for (const listener of [...listeners]) listener();
  });
  await client.connect();
  const c = client;
  /** Resolves once a received message matches. */
  const seen = (match: (message: ServerMessage) => boolean) =>
    waitUntil(
      () => received.find(match),
      listeners,
      10_000,
      () => `waited in vain; got ${JSON.stringify(received.map((m) => m.type))}`,
    );
  /** The stream from a message on, as `type detail` lines. */
  const since = (index: number) =>
    received.slice(index).map((message) => {
      const data = message.data as Record<string, unknown>;
      return `${message.type} ${String(data.status ?? data.chunk ?? data.finishReason ?? '')}`.trim();
    });
  return { c, received, seen, since };
}

beforeEach(async () => {
  upstream = await createOpenAITestServer();
});
afterEach(async () => {
  client?.disconnect();
  client = undefined;
  await server?.stop();
  server = undefined;
  await upstream.close();
});

describe('pause and resume over loopback', () => {
  it('pauses while the model streams, holds the rest, and resume sends it all: the text adds up', async () => {
    upstream.enqueue({ type: 'text', chunks: ['one ', 'two ', 'three'] });
    const second = gate();
    const { provider, finished } = gatedProvider(upstream, { 1: second.promise });
    const { c, received, seen, since } = await start({ llm: provider });
    const reply = c.sendMessage('hi');
    await seen((m) => m.type === 'llm_chunk' && m.data.chunk === 'one ');
    expect((await c.sendControl('pause')).data).toMatchObject({ status: 'paused' });
    const atPause = received.length;
    second.open();
    await finished; // the model is done: everything after 'one ' is held on the server
    expect((await c.sendControl('get_status')).data).toMatchObject({ status: 'paused' });
    expect(since(atPause)).toEqual(['status paused']);
    const answer = await c.sendControl('resume');
    expect(answer.data).toMatchObject({ status: 'idle' });
    const complete = await reply;
    expect(complete).toMatchObject({ fullText: 'one two three', finishReason: 'stop' });
    expect(since(atPause)).toEqual([
      'status paused',
      'llm_chunk two',
      'llm_chunk three',
      'llm_chunk',
      'llm_complete stop',
      'status idle',
      'status idle',
    ]);
  });

  it('resumes while the model still streams: the answer says streaming, and chunks go on arriving', async () => {
    upstream.enqueue({ type: 'text', chunks: ['one ', 'two ', 'three'] });
    const second = gate();
    const third = gate();
    const { provider } = gatedProvider(upstream, { 1: second.promise, 2: third.promise });
    const { c, received, seen, since } = await start({ llm: provider });
    const reply = c.sendMessage('hi');
    await seen((m) => m.type === 'llm_chunk' && m.data.chunk === 'one ');
    await c.sendControl('pause');
    await c.sendControl('pause'); // a second pause changes nothing
    const atPause = received.length;
    second.open();
    const answer = await c.sendControl('resume');
    expect(answer.data).toMatchObject({ status: 'streaming' });
    expect((await c.sendControl('resume')).data).toMatchObject({ status: 'streaming' });
    third.open();
    await reply;
    const after = since(atPause);
    // 'two ' may be held (then released before the answer) or still on its way: either way, in order.
    expect(after.filter((line) => line.startsWith('llm_chunk'))).toEqual([
      'llm_chunk two',
      'llm_chunk three',
      'llm_chunk',
    ]);
    expect(after.indexOf('llm_chunk three')).toBeGreaterThan(after.indexOf('status streaming'));
    expect(after.slice(-2)).toEqual(['llm_complete stop', 'status idle']);
  });

  it('pauses while a tool runs: the tool finishes, the next round streams into the hold, resume releases it', async () => {
    const toolGate = gate();
    const toolStarted = gate();
    const slowTool = defineTool({
      name: 'slow_lookup',
      description: 'looks something up, slowly',
      parameters: { type: 'object', properties: {} },
      execute: async () => {
        toolStarted.open();
        await toolGate.promise;
        return { found: 42 };
      },
    });
    upstream.enqueue(
      { type: 'tool_calls', calls: [{ id: 'call_1', name: 'slow_lookup', arguments: {} }] },
      { type: 'text', chunks: ['It is ', '42'] },
    );
    const { c, received, since } = await start({ tools: [slowTool], builtinTools: false });
    const reply = c.sendMessage('look it up');
    await toolStarted.promise;
    expect((await c.sendControl('pause')).data).toMatchObject({ status: 'paused' });
    const atPause = received.length;
    toolGate.open();
    // The second model call has ended and the server has its answer in history (its frames are held).
    await waitUntilTrue(() => server?.getActiveSessions()[0]?.historyLength === 4, 10_000);
    expect(server?.getActiveSessions()[0]?.status).toBe('paused');
    expect(since(atPause)).toEqual([]);
    expect((await c.sendControl('resume')).data).toMatchObject({ status: 'idle' });
    expect(await reply).toMatchObject({ fullText: 'It is 42' });
    expect(since(atPause)).toEqual([
      'tool_call complete',
      'tool_result',
      'status thinking',
      'status streaming',
      'llm_chunk It is',
      'llm_chunk 42',
      'llm_chunk',
      'llm_complete stop',
      'status idle',
      'status idle',
    ]);
  });

  it('aborts a paused reply: the model request is cancelled and the reply ends aborted with the text so far', async () => {
    upstream.enqueue({ type: 'stall', chunks: ['partial '] });
    const { c, seen } = await start();
    const reply = c.sendMessage('hi');
    await seen((m) => m.type === 'llm_chunk' && m.data.chunk === 'partial ');
    expect((await c.sendControl('pause')).data).toMatchObject({ status: 'paused' });
    await c.abort();
    expect(await reply).toMatchObject({ fullText: 'partial ', finishReason: 'aborted' });
    expect(await upstream.requests[0]?.ended).toBe('client_closed');
    expect((await c.sendControl('get_status')).data).toMatchObject({ status: 'idle' });
  });

  it('answers pause and resume with no reply running with status idle; the next reply is not held', async () => {
    upstream.enqueue({ type: 'text', chunks: ['fine'] });
    const { c } = await start();
    expect((await c.sendControl('pause')).data).toMatchObject({ status: 'idle' });
    expect((await c.sendControl('resume')).data).toMatchObject({ status: 'idle' });
    expect(await c.sendMessage('hi')).toMatchObject({ fullText: 'fine' });
  });
});
