import { WSClient } from '../../src/client/ws-client';
import type { ConnectionStatus, ReplyEvent, WebSocketConstructor, WSClientOptions } from '../../src/client/options';
import type { LLMWSError } from '../../src/errors';
import type { ServerMessage } from '../../src/protocol/codecs';
import { FakeWebSocket } from '../utils/fake-websocket';

/**
 * The client core over a fake socket and jest's fake clock: the schedule of pings, timeouts and
 * reconnects is exact, and no network is involved.
 */
function setup(options: Partial<WSClientOptions> = {}) {
  FakeWebSocket.reset();
  const client = new WSClient({
    url: 'ws://test/ws',
    WebSocketCtor: FakeWebSocket as unknown as WebSocketConstructor,
    reconnectJitter: 0,
    reconnectDelay: 100,
    heartbeatInterval: 1000,
    timeout: 500,
    ...options,
  });
  const statuses: ConnectionStatus[] = [];
  const errors: LLMWSError[] = [];
  client.status$.subscribe((status) => statuses.push(status));
  client.errors$.subscribe((error) => errors.push(error));
  return { client, statuses, errors };
}

const chunk = (requestId: string, text: string): ServerMessage => ({
  type: 'llm_chunk',
  id: `s-${text}`,
  data: { chunk: text, isComplete: false, requestId },
});
const complete = (requestId: string, fullText: string): ServerMessage => ({
  type: 'llm_complete',
  id: `s-done-${requestId}`,
  data: { fullText, requestId, finishReason: 'stop' },
});

/** Collects what a send() emits and how it ended. */
function observe(reply$: import('rxjs').Observable<ReplyEvent>) {
  const seen: { events: ReplyEvent[]; error?: LLMWSError; completed: boolean } = { events: [], completed: false };
  const subscription = reply$.subscribe({
    next: (event) => seen.events.push(event),
    error: (error: LLMWSError) => (seen.error = error),
    complete: () => (seen.completed = true),
  });
  return { seen, subscription };
}

/** Moves the fake clock, running the client's timers (pings, timeouts, backoff) on the way. */
const advance = (ms: number): void => {
  jest.advanceTimersByTime(ms);
};

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

describe('WSClient (fake socket, fake clock)', () => {
  it('connects, is connected once greeted, and sends a ping every heartbeatInterval', () => {
    const { client, statuses } = setup();
    void client.connect();
    expect(statuses).toEqual(['disconnected', 'connecting']);
    const socket = FakeWebSocket.latest;
    expect(socket.url).toBe('ws://test/ws');
    socket.accept('s-1');
    expect(client.isConnected()).toBe(true);
    expect(client.sessionId).toBe('s-1');
    advance(999);
    expect(socket.sentOf('ping')).toHaveLength(0);
    socket.deliver({ type: 'status', id: 'x', data: { status: 'idle' } }); // keeps it alive
    advance(1);
    expect(socket.sentOf('ping')).toHaveLength(1);
    const ping = socket.sentOf('ping')[0] as { id: string };
    socket.deliver({ type: 'pong', id: 'y', data: { requestId: ping.id } });
    expect(client.getStats().lastRoundTripMs).toBe(0);
    client.disconnect();
  });

  it('reconnects when the server is silent for heartbeatInterval + timeout, then backs off exactly', () => {
    const { client, statuses } = setup({ reconnectAttempts: 3 });
    const attempts: number[] = [];
    client.onReconnecting(({ delayMs }) => attempts.push(delayMs));
    void client.connect();
    FakeWebSocket.latest.accept();
    advance(1499);
    expect(FakeWebSocket.sockets).toHaveLength(1);
    advance(1); // 1000 + 500 of silence
    expect(statuses[statuses.length - 1]).toBe('reconnecting');
    expect(FakeWebSocket.sockets[0]?.readyState).toBe(FakeWebSocket.CLOSED);
    advance(99);
    expect(FakeWebSocket.sockets).toHaveLength(1);
    advance(1); // the first retry, 100 ms later
    expect(FakeWebSocket.sockets).toHaveLength(2);
    FakeWebSocket.latest.fail();
    advance(200); // the second, 200 ms after that
    expect(FakeWebSocket.sockets).toHaveLength(3);
    FakeWebSocket.latest.acceptResume();
    expect(statuses[statuses.length - 1]).toBe('connected');
    // A good connection resets the schedule: the next loss waits 100 ms again.
    FakeWebSocket.latest.serverClose(1001);
    advance(100);
    expect(FakeWebSocket.sockets).toHaveLength(4);
    expect(attempts).toEqual([100, 200, 100]);
    client.disconnect();
  });

  it('counts a socket that opens but never greets within timeout as failed (connect_timeout)', () => {
    const { client } = setup({ reconnectAttempts: 0 });
    const connected = client.connect();
    FakeWebSocket.latest.open();
    advance(500);
    return expect(connected).rejects.toMatchObject({
      code: 'reconnect_failed',
      message: expect.stringContaining('no greeting from the server within 500 ms'),
    });
  });

  it('gives up after reconnectAttempts: disconnected, errors$ told, queued requests rejected', () => {
    const { client, statuses, errors } = setup({ reconnectAttempts: 2 });
    void client.connect();
    FakeWebSocket.latest.accept();
    FakeWebSocket.latest.fail();
    const queued = observe(client.send('hello'));
    advance(100);
    FakeWebSocket.latest.fail();
    advance(200);
    FakeWebSocket.latest.fail();
    expect(statuses[statuses.length - 1]).toBe('disconnected');
    // Each failed attempt at once (the drop and two reconnects), then the give-up.
    expect(errors.map((e) => e.code)).toEqual([
      'connection_lost',
      'connection_lost',
      'connection_lost',
      'reconnect_failed',
    ]);
    expect(errors[3]?.message).toMatch(/^gave up after 2 reconnect attempts: connection lost/);
    expect(queued.seen.error?.code).toBe('reconnect_failed');
    advance(10_000);
    expect(FakeWebSocket.sockets).toHaveLength(3);
  });

  it('does not retry a connection the server refused (4401)', () => {
    const { client } = setup();
    const connected = client.connect();
    FakeWebSocket.latest.open();
    FakeWebSocket.latest.serverClose(4401, 'unauthorized');
    advance(10_000);
    expect(FakeWebSocket.sockets).toHaveLength(1);
    return expect(connected).rejects.toMatchObject({ code: 'connection_refused', closeCode: 4401 });
  });

  it('matches replies by requestId and completes with the llm_complete', () => {
    const { client } = setup();
    void client.connect();
    const socket = FakeWebSocket.latest;
    socket.accept();
    const first = observe(client.send('one', { temperature: 0.2 }));
    const second = observe(client.send('two'));
    // One reply at a time: the second waits on the client for the first to end, never refused `busy`.
    expect(socket.sentOf('user_message')).toHaveLength(1);
    const [a] = socket.sentOf('user_message') as Array<{ id: string; data: unknown }>;
    expect(a?.data).toEqual({ text: 'one', options: { temperature: 0.2 } });
    socket.deliver(chunk('someone-else', 'X1'));
    socket.deliver(chunk(a?.id as string, 'A1'));
    socket.deliver({ type: 'status', id: 'st', data: { status: 'streaming', requestId: a?.id } });
    socket.deliver(complete(a?.id as string, 'A1'));
    expect(first.seen.events.map((e) => e.type)).toEqual(['llm_chunk', 'llm_complete']);
    expect(first.seen.completed).toBe(true);
    const [, b] = socket.sentOf('user_message') as Array<{ id: string; data: unknown }>;
    expect(b?.data).toEqual({ text: 'two' });
    socket.deliver(chunk(b?.id as string, 'B1'));
    expect(second.seen.events.map((e) => e.data)).toEqual([{ chunk: 'B1', isComplete: false, requestId: b?.id }]);
    socket.deliver({
      type: 'error',
      id: 'e',
      data: { code: 'upstream_error', message: 'boom', retryable: true, requestId: b?.id },
    });
    expect(second.seen.error).toMatchObject({
      name: 'ServerError',
      code: 'upstream_error',
      retryable: true,
      requestId: b?.id,
    });
    // Neither ended early, so neither sent an abort.
    expect(socket.sentOf('control')).toHaveLength(0);
    client.disconnect();
  });

  it('sends an abort for the reply when a send() is unsubscribed before it ends', () => {
    const { client } = setup();
    void client.connect();
    const socket = FakeWebSocket.latest;
    socket.accept();
    const reply = observe(client.send('long story'));
    const request = socket.sentOf('user_message')[0] as { id: string };
    socket.deliver(chunk(request.id, 'Once'));
    reply.subscription.unsubscribe();
    expect(socket.sentOf('control').map((m) => m.data)).toEqual([{ type: 'abort', requestId: request.id }]);
    client.disconnect();
  });

  it('queues messages while reconnecting, sends them once greeted, and bounds the queue', () => {
    const { client } = setup({ maxQueueSize: 2 });
    void client.connect();
    FakeWebSocket.latest.accept();
    FakeWebSocket.latest.fail();
    const a = observe(client.send('a'));
    const b = observe(client.send('b'));
    const c = observe(client.send('c'));
    expect(c.seen.error).toMatchObject({ code: 'queue_full', name: 'ClientError' });
    b.subscription.unsubscribe(); // a queued request that is dropped never goes out, and needs no abort
    advance(100);
    const socket = FakeWebSocket.latest;
    socket.acceptResume();
    expect(socket.sent.map((m) => m.type)).toEqual(['resume', 'user_message']);
    expect(socket.sentOf('user_message').map((m) => (m.data as { text?: string }).text)).toEqual(['a']);
    expect(a.seen.error).toBeUndefined();
    client.disconnect();
  });

  it('resumes after a drop: presents the session and last seq, skips what it saw, resends what is unanswered', () => {
    const { client } = setup();
    void client.connect();
    FakeWebSocket.latest.accept('s-1');
    const reply = observe(client.send('hello'));
    const request = FakeWebSocket.latest.sentOf('user_message')[0] as { id: string };
    const seqd = (seq: number, message: ServerMessage): ServerMessage => ({ ...message, seq });
    FakeWebSocket.latest.deliver(seqd(1, chunk(request.id, 'Hel')));
    FakeWebSocket.latest.fail();
    expect(reply.seen.error).toBeUndefined(); // still pending: a resume may answer it
    advance(100);
    const socket = FakeWebSocket.latest;
    socket.open();
    expect(socket.resumeRequest?.data).toEqual({ sessionId: 's-1', resumeToken: 'token-s-1', lastSeq: 1 });
    socket.deliver({ type: 'session', id: 'fresh', data: { sessionId: 'fresh-session', resumeToken: 't' } });
    socket.deliver(seqd(1, chunk(request.id, 'Hel'))); // replayed twice by mistake: dropped
    socket.deliver(seqd(2, chunk(request.id, 'lo')));
    socket.deliver({
      type: 'session',
      id: 'r',
      data: {
        sessionId: 's-1',
        resumeToken: 'token-s-1',
        resumed: true,
        requestId: socket.resumeRequest?.id,
        lastSeq: 2,
      },
    });
    expect(client.sessionId).toBe('s-1');
    // The unanswered user_message goes again with the same id (the server ignores ids it has seen).
    expect(socket.sentOf('user_message')).toEqual([expect.objectContaining({ id: request.id })]);
    socket.deliver(seqd(3, complete(request.id, 'Hello')));
    expect(reply.seen.events.map((event) => event.type === 'llm_chunk' && event.data.chunk)).toEqual([
      'Hel',
      'lo',
      false,
    ]);
    expect(reply.seen.completed).toBe(true);
    client.disconnect();
  });

  it('fails what was in flight with the server code when the resume fails, and carries on with the new session', () => {
    const { client, statuses } = setup();
    void client.connect();
    FakeWebSocket.latest.accept('s-1');
    const inFlight = observe(client.send('hello'));
    const history = client.getHistory();
    FakeWebSocket.latest.serverClose(1001);
    const queued = observe(client.send('after the drop'));
    advance(100);
    FakeWebSocket.latest.refuseResume('session_lost', 's-2');
    expect(inFlight.seen.error).toMatchObject({ name: 'ServerError', code: 'session_lost' });
    expect(queued.seen.error).toBeUndefined();
    expect(FakeWebSocket.latest.sentOf('user_message').map((m) => (m.data as { text: string }).text)).toEqual([
      'after the drop',
    ]);
    expect(client.sessionId).toBe('s-2');
    expect(statuses[statuses.length - 1]).toBe('connected');
    client.disconnect();
    return expect(history).rejects.toMatchObject({ code: 'session_lost' });
  });

  it('waits at least the retryAfterMs of the server closing message before reconnecting', () => {
    const { client } = setup({ reconnectJitter: 0 });
    void client.connect();
    FakeWebSocket.latest.accept();
    FakeWebSocket.latest.deliver({
      type: 'closing',
      id: 'bye',
      data: { reason: 'server stopping', retryAfterMs: 2000 },
    });
    FakeWebSocket.latest.serverClose(1001);
    advance(1999);
    expect(FakeWebSocket.sockets).toHaveLength(1);
    advance(1);
    expect(FakeWebSocket.sockets).toHaveLength(2);
    client.disconnect();
  });

  it('fails everything pending with disconnected on disconnect(), and stops reconnecting', () => {
    const { client, statuses } = setup();
    void client.connect();
    FakeWebSocket.latest.accept();
    const pending = observe(client.send('hello'));
    client.disconnect();
    expect(pending.seen.error?.code).toBe('disconnected');
    expect(statuses[statuses.length - 1]).toBe('disconnected');
    advance(60_000);
    expect(FakeWebSocket.sockets).toHaveLength(1);
  });

  it('reports a frame that fails to decode on errors$ and carries on', () => {
    const { client, errors } = setup();
    const messages: string[] = [];
    client.messages$.subscribe((m) => messages.push(m.type));
    void client.connect();
    const socket = FakeWebSocket.latest;
    socket.accept();
    socket.deliver('not json');
    socket.deliver(JSON.stringify({ type: 'llm_chunk', id: 'x', data: { chunk: 42 } }));
    socket.deliver({ type: 'status', id: 'y', data: { status: 'idle' } });
    expect(errors.map((e) => [e.name, e.code])).toEqual([
      ['ProtocolError', 'invalid_json'],
      ['ProtocolError', 'invalid_message'],
    ]);
    expect(errors[1]?.message).toBe(
      'data.chunk: expected string, got 42; data.isComplete: expected boolean, got nothing',
    );
    expect(messages).toEqual(['session', 'status']);
    client.disconnect();
  });

  it('answers controls with the server reply, and times out a control the server ignores', () => {
    const { client } = setup();
    void client.connect();
    const socket = FakeWebSocket.latest;
    socket.accept();
    const history = client.getHistory();
    const control = socket.sentOf('control')[0] as { id: string; data: unknown };
    expect(control.data).toEqual({ type: 'get_history' });
    socket.deliver({
      type: 'history',
      id: 'h',
      data: { messages: [{ role: 'user', content: 'hi' }], requestId: control.id },
    });
    const cleared = client.clearHistory();
    advance(500);
    client.disconnect();
    return Promise.all([
      expect(history).resolves.toEqual([{ role: 'user', content: 'hi' }]),
      expect(cleared).rejects.toMatchObject({
        code: 'request_timeout',
        message: 'no answer to clear_history within 500 ms',
      }),
    ]);
  });

  it('feeds the callback API from the same streams; each returns its unsubscribe, and a throwing one harms no other', () => {
    const { client } = setup();
    const chunks: string[] = [];
    const connected: string[] = [];
    const spy = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    client.onLLMChunk(() => {
      throw new Error('user bug');
    });
    const stop = client.onLLMChunk((data) => chunks.push(data.chunk));
    client.onConnected(({ sessionId }) => connected.push(sessionId));
    void client.connect();
    const socket = FakeWebSocket.latest;
    socket.accept('abc');
    socket.deliver(chunk('r', 'one'));
    stop();
    socket.deliver(chunk('r', 'two'));
    expect(chunks).toEqual(['one']);
    expect(connected).toEqual(['abc']);
    expect(spy).toHaveBeenCalledWith('llm-ws: a client callback threw', expect.any(Error));
    spy.mockRestore();
    client.disconnect();
  });

  it('counts messages and UTF-8 bytes both ways', () => {
    const { client } = setup();
    void client.connect();
    const socket = FakeWebSocket.latest;
    socket.accept();
    observe(client.send('héllo'));
    const stats = client.getStats();
    expect(stats.messagesSent).toBe(1);
    expect(stats.bytesSent).toBe(new TextEncoder().encode(JSON.stringify(socket.sent[0])).length);
    expect(stats.messagesReceived).toBe(1);
    expect(stats.connectedSince).toBeInstanceOf(Date);
    client.disconnect();
    expect(client.getStats().connectedSince).toBeNull();
  });
});
