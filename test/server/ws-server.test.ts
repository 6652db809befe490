import { createServer } from 'node:http';
import { withoutIds } from '../utils/history';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import type { ServerMessage } from '../../src/protocol/codecs';
import { silentLogger } from '../../src/server/logger';
import type { WSServerOptions } from '../../src/server/options';
import { WSServer, type WSServerEvent } from '../../src/server/ws-server';
import { bearerTokenAuthentication } from '../../src/server/auth';
import { startServerFor } from '../utils/test-server';
import { createOpenAITestServer, type OpenAITestServer } from '../../src/testing/node';
import { connectTestClient, control, sessionGreeting, type TestClient, userMessage } from '../utils/ws-test-client';

let upstream: OpenAITestServer;
let server: WSServer;
const clients: TestClient[] = [];

async function startServer(options: WSServerOptions = {}): Promise<WSServer> {
  server = await startServerFor(upstream, options);
  return server;
}

async function connect(url = server.url as string): Promise<TestClient> {
  const client = await connectTestClient(url);
  clients.push(client);
  await client.waitFor('session');
  return client;
}

beforeEach(async () => {
  upstream = await createOpenAITestServer();
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await server?.stop();
  await upstream.close();
});

const textOf = (messages: ServerMessage[]): string =>
  messages.map((message) => (message.type === 'llm_chunk' ? message.data.chunk : '')).join('');

describe('WSServer over loopback', () => {
  it('streams a reply whose chunks add up to its llm_complete, every frame tagged with the request', async () => {
    await startServer();
    upstream.enqueue({ type: 'text', chunks: ['The ', 'quick ', 'brown ', 'fox'], delayMs: 5 });
    const client = await connect();
    client.send(userMessage('q1', 'tell me'));
    const done = await client.waitFor('llm_complete');
    expect(done.data).toMatchObject({ fullText: 'The quick brown fox', finishReason: 'stop', requestId: 'q1' });
    expect(done.data.usage).toEqual({
      promptTokens: expect.any(Number),
      completionTokens: 4,
      totalTokens: expect.any(Number),
    });
    const reply = client.forRequest('q1');
    expect(textOf(reply)).toBe('The quick brown fox');
    expect(reply.filter((m) => m.type === 'llm_chunk').length).toBe(5);
    await client.waitFor('status', (m) => m.data.status === 'idle');
    const ids = client.received.map((message) => message.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('runs calculate and get_current_time for the model and sends their results back to it', async () => {
    await startServer();
    upstream.enqueue(
      {
        type: 'tool_calls',
        calls: [
          { id: 'c1', name: 'calculate', arguments: { expression: '2+3*4' } },
          { id: 'c2', name: 'get_current_time', arguments: {} },
        ],
      },
      { type: 'text', chunks: ['14, and now.'] },
    );
    const client = await connect();
    client.send(userMessage('q1', 'what is 2+3*4 and what time is it?'));
    await client.waitFor('llm_complete');
    const results = client.received.filter(
      (m): m is Extract<ServerMessage, { type: 'tool_result' }> => m.type === 'tool_result',
    );
    expect(results.find((r) => r.data.toolName === 'calculate')?.data.result).toEqual({
      expression: '2+3*4',
      result: 14,
    });
    expect(results.find((r) => r.data.toolName === 'get_current_time')?.data.result).toMatchObject({
      iso: expect.stringMatching(/^\d{4}-/),
    });
    const starts = client.received.filter((m) => m.type === 'tool_call' && m.data.status === 'start');
    expect(starts.map((m) => m.data)).toEqual([
      { toolCallId: 'c1', toolName: 'calculate', args: { expression: '2+3*4' }, status: 'start', requestId: 'q1' },
      { toolCallId: 'c2', toolName: 'get_current_time', args: {}, status: 'start', requestId: 'q1' },
    ]);
    const second = (await upstream.request(1)).body;
    expect(second.messages.slice(-3)).toEqual([
      expect.objectContaining({ role: 'assistant', tool_calls: expect.any(Array) }),
      { role: 'tool', tool_call_id: 'c1', content: '{"expression":"2+3*4","result":14}' },
      expect.objectContaining({ role: 'tool', tool_call_id: 'c2' }),
    ]);
  });

  it('answers get_history and clear_history', async () => {
    await startServer({ conversationOptions: { systemPrompt: 'Be brief.' } });
    const client = await connect();
    client.send(userMessage('q1', 'hello'));
    await client.waitFor('status', (m) => m.data.status === 'idle' && m.data.requestId === 'q1');
    client.send(control('h1', 'get_history'));
    const history = await client.waitFor('history', (m) => m.data.requestId === 'h1');
    expect(withoutIds(history.data.messages)).toEqual([
      { role: 'user', content: 'hello' },
      { role: 'assistant', content: 'You said: hello' },
    ]);
    expect(upstream.requests[0]?.body.messages[0]).toEqual({ role: 'system', content: 'Be brief.' });
    client.send(control('h2', 'clear_history'));
    expect((await client.waitFor('history', (m) => m.data.requestId === 'h2')).data.messages).toEqual([]);
  });

  it('cancels the upstream HTTP request on abort and ends the reply with the partial text', async () => {
    await startServer();
    upstream.enqueue({ type: 'stall', chunks: ['Once ', 'upon '] });
    const client = await connect();
    client.send(userMessage('q1', 'a long story'));
    await client.waitFor('llm_chunk', (m) => m.data.chunk === 'upon ');
    client.send(control('a1', 'abort'));
    const done = await client.waitFor('llm_complete');
    expect(done.data).toMatchObject({ finishReason: 'aborted', fullText: 'Once upon ', requestId: 'q1' });
    await expect(upstream.requests[0]?.ended).resolves.toBe('client_closed');
    client.send(control('h', 'get_history'));
    const history = await client.waitFor('history');
    expect(withoutIds(history.data.messages)[1]).toEqual({
      role: 'assistant',
      content: 'Once upon ',
      finishReason: 'aborted',
    });
  });

  it('turns an upstream 500 into an error message and keeps the connection for the next message', async () => {
    await startServer();
    upstream.enqueue({ type: 'error', status: 500, message: 'model exploded' });
    const client = await connect();
    client.send(userMessage('q1', 'hi'));
    const error = await client.waitFor('error');
    expect(error.data).toMatchObject({ code: 'upstream_error', retryable: true, requestId: 'q1' });
    expect(error.data.message).toContain('model exploded');
    client.send(userMessage('q2', 'again'));
    expect((await client.waitFor('llm_complete')).data).toMatchObject({ requestId: 'q2', fullText: 'You said: again' });
  });

  it.each<[string, string | Buffer, boolean, string]>([
    ['not JSON', '{nope', false, 'invalid_json'],
    [
      'a wrong shape',
      JSON.stringify({ type: 'user_message', id: 'x', data: { text: ['a'] } }),
      false,
      'invalid_message',
    ],
    ['an unknown type', JSON.stringify({ type: 'eval', id: 'x', data: 'process.exit()' }), false, 'unknown_type'],
    ['a binary frame', Buffer.from('{"type":"ping","id":"p"}'), true, 'unsupported_frame'],
  ])('answers %s with an error, reports it, and keeps the connection open', async (_name, frame, binary, code) => {
    await startServer();
    const errors: WSServerEvent[] = [];
    server.onClientError((event) => errors.push(event));
    const client = await connect();
    client.sendRaw(frame, { binary });
    expect((await client.waitFor('error')).data.code).toBe(code);
    client.send({ type: 'ping', id: 'still-there' });
    await client.waitFor('pong', (m) => m.data.requestId === 'still-there');
    expect(client.socket.readyState).toBe(WebSocket.OPEN);
    if (!binary)
      expect(errors).toEqual([
        expect.objectContaining({ type: 'client_error', error: expect.objectContaining({ code }) }),
      ]);
  });

  it('closes a connection that sends a frame over maxPayload with 1009, and serves the others', async () => {
    await startServer({ maxPayload: 1024 });
    const big = await connect();
    const other = await connect();
    big.send(userMessage('q', 'x'.repeat(2000)));
    expect((await big.closed).code).toBe(1009);
    other.send(userMessage('q2', 'small'));
    expect((await other.waitFor('llm_complete')).data.fullText).toBe('You said: small');
  });

  it('closes connections beyond maxConnections with 1013', async () => {
    await startServer({ maxConnections: 1 });
    await connect();
    const extra = await connectTestClient(server.url as string);
    clients.push(extra);
    expect(await extra.closed).toEqual({ code: 1013, reason: 'server at maxConnections: try again later' });
    expect(server.getConnectionCount()).toBe(1);
  });

  it('refuses upgrades on other paths with HTTP 404', async () => {
    await startServer({ path: '/chat' });
    await expect(connectTestClient(`ws://127.0.0.1:${server.port}/ws`)).rejects.toThrow(
      'upgrade refused with HTTP 404',
    );
    expect(server.url).toBe(`ws://127.0.0.1:${server.port}/chat`);
  });

  it('drops a client that stops answering pings', async () => {
    await startServer({ heartbeatInterval: 40 });
    const dropped = new Promise<WSServerEvent>((resolve) => server.onClientDisconnected(resolve));
    const silent = new WebSocket(server.url as string, { autoPong: false });
    const closed = new Promise<number>((resolve) => silent.once('close', (code) => resolve(code)));
    expect(await closed).toBe(1006);
    expect(await dropped).toMatchObject({ code: 1006 });
    expect(server.getConnectionCount()).toBe(0);
  });

  it('reports connections and disconnections as events and callbacks, and survives a throwing callback', async () => {
    await startServer();
    const seen: string[] = [];
    server.events$.subscribe((event) => seen.push(event.type));
    const stopListening = server.onClientConnected(() => {
      throw new Error('a user bug');
    });
    const left = new Promise<WSServerEvent>((resolve) => server.onClientDisconnected(resolve));
    const client = await connect();
    expect(server.getActiveSessions()).toEqual([
      {
        sessionId: expect.any(String),
        status: 'idle',
        connected: true,
        historyLength: 0,
        principal: undefined,
        heldBytes: 0,
      },
    ]);
    stopListening();
    await client.close();
    expect(await left).toMatchObject({ type: 'client_disconnected', code: 1005 });
    expect(seen).toEqual(['client_connected', 'client_disconnected']);
    expect(server.getActiveSessions()).toEqual([]);
  });

  it('sends to one client, and broadcasts to all but one', async () => {
    await startServer();
    const a = await connect();
    const b = await connect();
    const sessionA = (await a.waitFor('session')).data.sessionId;
    expect(
      await server.sendToClient(sessionA, { type: 'notification', data: { event: 'hello', payload: { to: 'a' } } }),
    ).toBe(true);
    expect(await server.sendToClient('no-such-session', { type: 'notification', data: { event: 'x' } })).toBe(false);
    expect((await a.waitFor('notification')).data).toEqual({ event: 'hello', payload: { to: 'a' } });
    expect(await server.broadcast({ type: 'notification', data: { event: 'maintenance' } }, sessionA)).toBe(1);
    expect((await b.waitFor('notification')).data).toEqual({ event: 'maintenance' });
    expect(a.received.filter((m) => m.type === 'notification')).toHaveLength(1);
  });

  it('on stop, closes clients with 1001 and cancels the upstream request', async () => {
    await startServer();
    upstream.enqueue({ type: 'stall', chunks: ['...'] });
    const client = await connect();
    client.send(userMessage('q1', 'hi'));
    await client.waitFor('llm_chunk');
    await server.stop();
    expect((await client.closed).code).toBe(1001);
    await expect(upstream.requests[0]?.ended).resolves.toBe('client_closed');
    await server.stop(); // twice is fine
  });

  it('keeps the reply (and its upstream request) running when the client goes away: disconnect is not abort', async () => {
    await startServer();
    upstream.enqueue({ type: 'stall', chunks: ['...'] });
    const client = await connect();
    client.send(userMessage('q1', 'hi'));
    await client.waitFor('llm_chunk');
    const { sessionId, resumeToken } = sessionGreeting(client);
    const lastSeq = Math.max(...client.received.flatMap((m) => (m.seq === undefined ? [] : [m.seq])));
    const disconnected = new Promise((resolve) =>
      server.events$.subscribe((event) => event.type === 'client_disconnected' && resolve(event)),
    );
    client.socket.terminate();
    await disconnected;
    expect(server.getActiveSessions()).toEqual([expect.objectContaining({ connected: false, status: 'streaming' })]);
    // Back on a new connection: the reply is still running, so only the abort sent now ends it and its request.
    const back = await connect();
    back.send({ type: 'resume', id: 'r1', data: { sessionId, resumeToken, lastSeq } });
    await back.waitFor('session', (m) => m.data.requestId === 'r1');
    expect(back.received.some((m) => m.type === 'llm_complete')).toBe(false);
    back.send(control('a1', 'abort'));
    expect((await back.waitFor('llm_complete', (m) => m.data.requestId === 'q1')).data.finishReason).toBe('aborted');
    await expect(upstream.requests[0]?.ended).resolves.toBe('client_closed');
  });

  it("cancels the upstream request when the client goes away, with onDisconnect: 'cancel'", async () => {
    await startServer({ onDisconnect: 'cancel' });
    upstream.enqueue({ type: 'stall', chunks: ['...'] });
    const client = await connect();
    client.send(userMessage('q1', 'hi'));
    await client.waitFor('llm_chunk');
    client.socket.terminate();
    await expect(upstream.requests[0]?.ended).resolves.toBe('client_closed');
  });

  it('refuses to start twice, and reports a port in use', async () => {
    await startServer();
    await expect(server.start()).rejects.toThrow('already started');
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as AddressInfo).port;
    const second = new WSServer({ port, hostname: '127.0.0.1', logger: silentLogger, llm: () => ({}) as never });
    await expect(second.start()).rejects.toThrow(/EADDRINUSE/);
    await new Promise((resolve) => blocker.close(resolve));
  });

  it('serves on an HTTP server of the caller', async () => {
    const http = createServer((_request, response) => response.end('app'));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    await startServer({ server: http });
    const client = await connect(`ws://127.0.0.1:${(http.address() as AddressInfo).port}/ws`);
    client.send(userMessage('q', 'hi'));
    expect((await client.waitFor('llm_complete')).data.fullText).toBe('You said: hi');
    await client.close();
    await server.stop();
    expect(http.listening).toBe(true);
    await new Promise((resolve) => http.close(resolve));
  });

  describe('access', () => {
    it('refuses an upgrade without the token with HTTP 401, and accepts it as a bearer header or ?token=', async () => {
      await startServer({ authenticate: bearerTokenAuthentication('s3cret') });
      const url = server.url as string;
      await expect(connectTestClient(url)).rejects.toThrow('upgrade refused with HTTP 401');
      await expect(connectTestClient(`${url}?token=wrong`)).rejects.toThrow('upgrade refused with HTTP 401');
      await connect(`${url}?token=s3cret`);
      const withHeader = await connectTestClient(url, { headers: { Authorization: 'Bearer s3cret' } });
      clients.push(withHeader);
      await withHeader.waitFor('session');
    });

    it('refuses other Origins with HTTP 403 (cross-site WebSocket hijacking)', async () => {
      await startServer({ allowedOrigins: ['https://chat.example'] });
      const url = server.url as string;
      await expect(connectTestClient(url, { origin: 'https://evil.example' })).rejects.toThrow(
        'upgrade refused with HTTP 403',
      );
      clients.push(await connectTestClient(url, { origin: 'https://chat.example' }));
    });

    it('keeps the principal on the session and passes it to tools', async () => {
      const seen: unknown[] = [];
      await startServer({
        authenticate: (request) => ({ user: new URL(request.url ?? '/', 'http://x').searchParams.get('user') }),
        tools: [
          {
            name: 'whoami',
            description: 'who is asking',
            parameters: {},
            execute: (_args, context) => (seen.push(context.principal), 'ok'),
          },
        ],
      });
      upstream.enqueue(
        { type: 'tool_calls', calls: [{ name: 'whoami', arguments: {} }] },
        { type: 'text', chunks: ['done'] },
      );
      const client = await connect(`${server.url}?user=ada`);
      client.send(userMessage('q', 'who am I?'));
      await client.waitFor('llm_complete');
      expect(seen).toEqual([{ user: 'ada' }]);
      expect(server.getActiveSessions()[0]?.principal).toEqual({ user: 'ada' });
    });

    it('answers HTTP 500 when authenticate throws, and serves the next client', async () => {
      let calls = 0;
      await startServer({
        authenticate: () => {
          if (calls++ === 0) throw new Error('auth backend down');
          return { ok: true };
        },
      });
      await expect(connectTestClient(server.url as string)).rejects.toThrow('upgrade refused with HTTP 500');
      await connect();
    });
  });
});
