import { firstValueFrom } from 'rxjs';
import { WSClient } from '../../src/client/node';
import { useLoopbackServer } from '../utils/loopback-server';
import { control, userMessage } from '../utils/ws-test-client';

/**
 * Messages sent while a reply runs, over real sockets against WSServer and the OpenAI-compatible
 * test server, for each `concurrentMessages` of the server.
 */
const loopback = useLoopbackServer();
let client: WSClient | undefined;

afterEach(() => {
  client?.disconnect();
  client = undefined;
});

/** The user messages the model was sent in its `index`-th request. */
const userTextsOf = async (index: number) =>
  ((await loopback.upstream.request(index)).body.messages as Array<{ role: string; content: string }>)
    .filter((m) => m.role === 'user')
    .map((m) => m.content);

describe('concurrent messages over loopback', () => {
  it("'queue' (the default): two sendMessage calls on a live connection both answer, in order; the greeting says queue", async () => {
    const server = await loopback.start();
    loopback.upstream.enqueue(
      { type: 'text', chunks: ['first ', 'answer'], delayMs: 20 },
      { type: 'text', chunks: ['second ', 'answer'] },
    );
    const greetings: unknown[] = [];
    client = new WSClient({ url: server.url as string, heartbeatInterval: 0 });
    client.messages$.subscribe((message) => message.type === 'session' && greetings.push(message.data));
    await client.connect();
    const first = client.sendMessage('one');
    const second = client.sendMessage('two');
    expect((await first).fullText).toBe('first answer');
    expect((await second).fullText).toBe('second answer');
    expect(await userTextsOf(1)).toEqual(['one', 'two']);
    expect(greetings).toEqual([expect.objectContaining({ concurrentMessages: 'queue' })]);
  });

  it("'interrupt': a second message stops the running reply (aborted, kept as far as it got) and is answered", async () => {
    const server = await loopback.start({ concurrentMessages: 'interrupt' });
    const words = Array.from({ length: 200 }, (_, i) => `w${i} `);
    loopback.upstream.enqueue({ type: 'text', chunks: words, delayMs: 5 }, { type: 'text', chunks: ['new answer'] });
    client = new WSClient({ url: server.url as string, heartbeatInterval: 0 });
    await client.connect();
    const firstChunk = firstValueFrom(client.chunks$);
    const first = client.sendMessage('long');
    await firstChunk;
    const second = client.sendMessage('stop, this instead');
    const cut = await first;
    expect(cut.finishReason).toBe('aborted');
    expect(cut.fullText.length).toBeLessThan(words.join('').length);
    expect((await second).fullText).toBe('new answer');
    const history = await client.getHistory();
    expect(history.map(({ role, content }) => [role, content])).toEqual([
      ['user', 'long'],
      ['assistant', cut.fullText],
      ['user', 'stop, this instead'],
      ['assistant', 'new answer'],
    ]);
  });

  it("'reject': a raw client sending a second message while a reply runs gets busy, as before", async () => {
    await loopback.start({ concurrentMessages: 'reject' });
    // The reply stalls until aborted: m2 arrives while it runs, whatever the machine's load.
    loopback.upstream.enqueue({ type: 'stall', chunks: ['slow '] });
    const raw = await loopback.connect();
    expect((await raw.waitFor('session')).data.concurrentMessages).toBe('reject');
    raw.send(userMessage('m1', 'one'));
    await raw.waitFor('llm_chunk');
    raw.send(userMessage('m2', 'two'));
    const refusal = await raw.waitFor('error', (m) => m.data.requestId === 'm2');
    expect(refusal.data).toMatchObject({ code: 'busy', retryable: true });
    // The refusal left the running reply alone: still running (aborted by its sender only), and m2 never reached the model.
    raw.send(control('c1', 'abort', 'm1'));
    const complete = await raw.waitFor('llm_complete', (m) => m.data.requestId === 'm1');
    expect(complete.data).toMatchObject({ finishReason: 'aborted', fullText: 'slow ' });
    expect(loopback.upstream.requests).toHaveLength(1);
    expect(raw.forRequest('m2').map((m) => m.type)).toEqual(['error']);
  });

  it("'queue': past maxQueuedMessages a raw client's message is refused queue_full", async () => {
    await loopback.start({ maxQueuedMessages: 1 });
    // The first reply stalls until aborted: m2 and m3 arrive while it runs, whatever the machine's load.
    loopback.upstream.enqueue({ type: 'stall', chunks: ['slow '] }, { type: 'text', chunks: ['queued answer'] });
    const raw = await loopback.connect();
    raw.send(userMessage('m1', 'one'));
    await raw.waitFor('llm_chunk');
    raw.send(userMessage('m2', 'two'));
    raw.send(userMessage('m3', 'three'));
    const refusal = await raw.waitFor('error', (m) => m.data.requestId === 'm3');
    expect(refusal.data).toMatchObject({ code: 'queue_full', retryable: true });
    raw.send(control('c1', 'abort', 'm1'));
    expect((await raw.waitFor('llm_complete', (m) => m.data.requestId === 'm1')).data.finishReason).toBe('aborted');
    expect((await raw.waitFor('llm_complete', (m) => m.data.requestId === 'm2')).data.fullText).toBe('queued answer');
  });
});
