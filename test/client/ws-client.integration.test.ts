import { firstValueFrom, lastValueFrom, filter, toArray } from 'rxjs';
import { WSClient } from '../../src/client/node';
import type { ConnectionStatus, ReplyEvent } from '../../src/client/options';
import { WSServer } from '../../src/server/ws-server';
import { startServerFor } from '../utils/test-server';
import { createOpenAITestServer, type OpenAITestServer } from '../../src/testing/node';
import { withoutIds } from '../utils/history';

let upstream: OpenAITestServer;
let servers: WSServer[] = [];
let client: WSClient | undefined;

async function startServer(port = 0): Promise<WSServer> {
  const server = await startServerFor(upstream, { port });
  servers.push(server);
  return server;
}

async function connectClient(
  server: WSServer,
  options: Partial<ConstructorParameters<typeof WSClient>[0]> = {},
): Promise<WSClient> {
  client = new WSClient({ url: server.url as string, reconnectDelay: 50, reconnectJitter: 0, ...options });
  await client.connect();
  return client;
}

beforeEach(async () => {
  upstream = await createOpenAITestServer();
});
afterEach(async () => {
  client?.disconnect();
  client = undefined;
  await Promise.all(servers.map((server) => server.stop()));
  servers = [];
  await upstream.close();
});

describe('WSClient against a real WSServer over loopback', () => {
  it('streams a reply through send(): chunks in order, then the llm_complete, then completion', async () => {
    const server = await startServer();
    upstream.enqueue({ type: 'text', chunks: ['Hello', ', ', 'world'], delayMs: 5 });
    const c = await connectClient(server);
    const events = await lastValueFrom(c.send('hi').pipe(toArray()));
    expect(events.map((e) => e.type)).toEqual(['llm_chunk', 'llm_chunk', 'llm_chunk', 'llm_chunk', 'llm_complete']);
    const text = events.map((e) => (e.type === 'llm_chunk' ? e.data.chunk : '')).join('');
    expect(text).toBe('Hello, world');
    expect(events[events.length - 1]?.data).toMatchObject({ fullText: 'Hello, world', finishReason: 'stop' });
  });

  it('shows tool calls and results in the reply, and on the shared streams', async () => {
    const server = await startServer();
    upstream.enqueue(
      { type: 'tool_calls', calls: [{ id: 'c1', name: 'calculate', arguments: { expression: '2+3*4' } }] },
      { type: 'text', chunks: ['14'] },
    );
    const c = await connectClient(server);
    const toolResults: unknown[] = [];
    c.toolResults$.subscribe((result) => toolResults.push(result.result));
    const events = await lastValueFrom(c.send('sum').pipe(toArray()));
    expect(
      events
        .filter((e): e is Extract<ReplyEvent, { type: 'tool_call' }> => e.type === 'tool_call')
        .map((e) => e.data.status),
    ).toEqual(['start', 'complete']);
    expect(toolResults).toEqual([{ expression: '2+3*4', result: 14 }]);
  });

  it('gives the seed API: sendMessage, getHistory, clearHistory, and callbacks', async () => {
    const server = await startServer();
    const c = await connectClient(server);
    const chunks: string[] = [];
    const completions: string[] = [];
    const statuses: string[] = [];
    const offChunk = c.onLLMChunk((chunk) => chunks.push(chunk.chunk));
    c.onLLMComplete((done) => completions.push(done.fullText));
    c.onStatusChange((status) => statuses.push(status));
    const result = await c.sendMessage('ping me');
    expect(result).toMatchObject({ fullText: 'You said: ping me', finishReason: 'stop' });
    expect(chunks.join('')).toBe('You said: ping me');
    expect(completions).toEqual(['You said: ping me']);
    expect(statuses).toEqual(expect.arrayContaining(['thinking', 'streaming', 'idle']));
    expect(withoutIds(await c.getHistory())).toEqual([
      { role: 'user', content: 'ping me' },
      { role: 'assistant', content: 'You said: ping me' },
    ]);
    await c.clearHistory();
    expect(await c.getHistory()).toEqual([]);
    offChunk();
    expect(c.getStats()).toMatchObject({ messagesSent: 4, reconnects: 0, connectedSince: expect.any(Date) });
  });

  it('rejects sendMessage with an error carrying the server code', async () => {
    const server = await startServer();
    upstream.enqueue({ type: 'error', status: 500, message: 'kaput' });
    const c = await connectClient(server);
    await expect(c.sendMessage('hi')).rejects.toMatchObject({
      name: 'ServerError',
      code: 'upstream_error',
      retryable: true,
    });
    await expect(c.sendMessage('again')).resolves.toMatchObject({ fullText: 'You said: again' });
  });

  it('aborts on the server, down to the upstream request, when a send() subscription is dropped', async () => {
    const server = await startServer();
    upstream.enqueue({ type: 'stall', chunks: ['Once '] });
    const c = await connectClient(server);
    const subscription = c.send('story').subscribe();
    await firstValueFrom(c.chunks$);
    const aborted = firstValueFrom(c.completions$);
    subscription.unsubscribe();
    expect(await aborted).toMatchObject({ finishReason: 'aborted', fullText: 'Once ' });
    await expect(upstream.requests[0]?.ended).resolves.toBe('client_closed');
  });

  it('aborts the running reply with abort()', async () => {
    const server = await startServer();
    upstream.enqueue({ type: 'stall', chunks: ['Once '] });
    const c = await connectClient(server);
    const reply = c.sendMessage('story');
    await firstValueFrom(c.chunks$);
    await c.abort();
    await expect(reply).resolves.toMatchObject({ finishReason: 'aborted', fullText: 'Once ' });
  });

  it('rejects a request in flight with session_lost when the server restarts, then works again', async () => {
    const server = await startServer();
    const port = server.port as number;
    upstream.enqueue({ type: 'stall', chunks: ['...'] });
    const c = await connectClient(server, { reconnectAttempts: 20, reconnectDelay: 20, maxReconnectDelay: 100 });
    const statuses: ConnectionStatus[] = [];
    c.status$.subscribe((status) => statuses.push(status));
    const inFlight = c.sendMessage('hi');
    await firstValueFrom(c.chunks$);
    const firstSession = c.sessionId;
    const stoppedAt = Date.now();
    await server.stop(); // tells the client to wait 1 s before reconnecting
    await startServer(port);
    await expect(inFlight).rejects.toMatchObject({ name: 'ServerError', code: 'session_lost' });
    expect(Date.now() - stoppedAt).toBeLessThan(5000);
    expect(c.sessionId).not.toBe(firstSession);
    expect(statuses).toEqual(['connected', 'reconnecting', 'connected']);
    await expect(c.sendMessage('back?')).resolves.toMatchObject({ fullText: 'You said: back?' });
    expect(c.getStats().reconnects).toBeGreaterThan(0);
  });

  it('sends messages queued while reconnecting once the server is back', async () => {
    const server = await startServer();
    const port = server.port as number;
    const c = await connectClient(server, { reconnectAttempts: 20, reconnectDelay: 20, maxReconnectDelay: 100 });
    await server.stop();
    await firstValueFrom(c.status$.pipe(filter((status) => status === 'reconnecting')));
    const queued = c.sendMessage('sent while away');
    await startServer(port);
    await expect(queued).resolves.toMatchObject({ fullText: 'You said: sent while away' });
  });

  it('times a reply out with timeoutMs: request_timeout, and the reply is aborted on the server down to the model request', async () => {
    const server = await startServer();
    upstream.enqueue({ type: 'stall', chunks: ['Once '] });
    const c = await connectClient(server);
    const aborted = firstValueFrom(c.completions$);
    await expect(c.sendMessage('story', { timeoutMs: 300 })).rejects.toMatchObject({
      name: 'ClientError',
      code: 'request_timeout',
    });
    await expect(upstream.requests[0]?.ended).resolves.toBe('client_closed');
    expect(await aborted).toMatchObject({ finishReason: 'aborted', fullText: 'Once ' });
    await expect(c.sendMessage('next')).resolves.toMatchObject({ fullText: 'You said: next' });
  });

  it('fails a send with not_connected at once before connect() and after disconnect(); waits at most queueTimeoutMs while reconnecting', async () => {
    const server = await startServer();
    const c = new WSClient({
      url: server.url as string,
      reconnectAttempts: 50,
      reconnectDelay: 20,
      maxReconnectDelay: 50,
      reconnectJitter: 0,
      queueTimeoutMs: 200,
    });
    client = c;
    await expect(c.sendMessage('too early')).rejects.toMatchObject({
      code: 'not_connected',
      message: 'not connected: call connect() first',
    });
    await c.connect();
    await server.stop();
    await firstValueFrom(c.status$.pipe(filter((status) => status === 'reconnecting')));
    await expect(c.sendMessage('while away')).rejects.toMatchObject({
      code: 'not_connected',
      message: 'the message waited 200 ms for a connection (queueTimeoutMs)',
    });
    c.disconnect();
    await expect(c.clearHistory()).rejects.toMatchObject({ code: 'not_connected' });
  });
});
