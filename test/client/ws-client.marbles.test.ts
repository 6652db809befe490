import { map, type Observable, tap } from 'rxjs';
import type { ServerMessage } from '../../src/protocol/codecs';
import { TestScheduler } from 'rxjs/testing';
import { WSClient } from '../../src/client/ws-client';
import type { WSClientOptions } from '../../src/client/options';
import type { LLMWSError } from '../../src/errors';
import { createFakeServer, type FakeServer, makeChunk, makeComplete, makeError, makeStatus } from '../../src/testing';

/**
 * The client's send, queue and timeout behaviour in virtual time: a fake server, the
 * TestScheduler's clock, and teardown asserted on the server's answers (the fake server stops
 * answering a request when the client aborts it or the socket closes).
 */
const testScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

const code = (value: string) => expect.objectContaining({ code: value });

function setup(server: FakeServer, options: Partial<WSClientOptions> = {}) {
  const client = new WSClient({
    url: 'ws://fake/ws',
    WebSocketCtor: server.WebSocketCtor,
    heartbeatInterval: 0,
    reconnectJitter: 0,
    reconnectDelay: 100,
    timeout: 1000,
    ...options,
  });
  const errors: LLMWSError[] = [];
  client.errors$.subscribe((error) => errors.push(error));
  return { client, errors };
}

/** Runs `action` at the frame the marble's `x` stands at (inside `TestScheduler.run`). */
const at = (cold: (marbles: string) => Observable<string>, marbles: string, action: () => void) =>
  cold(marbles).subscribe(() => action());

describe('WSClient sends, queues and times out (marbles)', () => {
  it('fails a send before connect() at once with not_connected, and reports it on errors$', () => {
    testScheduler().run(({ expectObservable }) => {
      const server = createFakeServer();
      const { client, errors } = setup(server);
      expectObservable(client.send('hi')).toBe('#', undefined, code('not_connected'));
      void client.sendControl('get_status');
      return () => expect(errors.map((e) => e.code)).toEqual(['not_connected', 'not_connected']);
    });
  });

  it('fails at once after disconnect() and after the client gave up reconnecting', () => {
    testScheduler().run(({ cold, expectObservable, flush }) => {
      const server = createFakeServer();
      const { client } = setup(server, { reconnectAttempts: 1 });
      void client.connect();
      server.latest.accept();
      at(cold, '10ms x', () => server.latest.fail());
      // The one reconnect (at 110) fails too: the client gives up.
      at(cold, '120ms x', () => server.latest.fail());
      expectObservable(client.send('after giving up'), '130ms ^').toBe('130ms #', undefined, code('not_connected'));
      flush();
      expect(server.sockets).toHaveLength(2);
      expect(client.getStats().reconnects).toBe(1);
      void client.connect();
      server.latest.accept();
      client.disconnect();
      const afterDisconnect: LLMWSError[] = [];
      client.send('after disconnect').subscribe({ error: (error: LLMWSError) => afterDisconnect.push(error) });
      expect(afterDisconnect.map((e) => [e.code, e.message])).toEqual([
        ['not_connected', 'not connected: the client was disconnected or gave up reconnecting; call connect() again'],
      ]);
    });
  });

  it('settles connect() with disconnected when disconnect() comes before the greeting', async () => {
    const server = createFakeServer();
    const { client } = setup(server);
    const connecting = client.connect();
    server.latest.open();
    client.disconnect();
    await expect(connecting).rejects.toMatchObject({ code: 'disconnected' });
  });

  it('holds a send made while reconnecting and sends it once connected; the reply streams then', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions, flush }) => {
      const server = createFakeServer();
      const answers: Array<ReturnType<typeof cold>> = [];
      server.answer('user_message', ({ id }) => {
        const answer = cold('-a-(b|)', { a: makeChunk(id, 'Hi'), b: makeComplete(id, 'Hi') });
        answers.push(answer);
        return answer;
      });
      const { client } = setup(server);
      void client.connect();
      server.latest.accept();
      at(cold, '5ms x', () => server.latest.fail()); // reconnect at 105
      at(cold, '150ms x', () => server.latest.acceptResume());
      expectObservable(client.send('hello').pipe(map((event) => event.type)), '10ms ^').toBe('151ms a-(b|)', {
        a: 'llm_chunk',
        b: 'llm_complete',
      });
      flush();
      expect(server.sockets[0]?.sentOf('user_message')).toEqual([]);
      expect(server.latest.sentOf('user_message')).toHaveLength(1);
      expectSubscriptions(answers[0]?.subscriptions ?? []).toBe('150ms ^--!');
    });
  });

  it('sends messages queued while reconnecting one after another, each after the reply before it; controls at once', () => {
    testScheduler().run(({ cold, expectObservable, flush }) => {
      const server = createFakeServer();
      // Like the real server: a user_message while a reply runs is refused with busy.
      let running = 0;
      server.answer('user_message', ({ id, data }) => {
        if (running > 0) return [makeError('busy', 'a reply is running', { requestId: id })];
        running++;
        // The reply is over for the server once it sends its last message.
        const ended = tap((message: ServerMessage) => message.type !== 'llm_chunk' && running--);
        if (data.text === 'bad')
          return cold('-(e|)', { e: makeError('upstream_error', 'the model failed', { requestId: id }) }).pipe(ended);
        const reply = data.text === 'one' ? '-a 23ms (b|)' : '-a-(b|)';
        return cold<ServerMessage>(reply, { a: makeChunk(id, data.text), b: makeComplete(id, data.text) }).pipe(ended);
      });
      server.answer('control', ({ id }) => [makeStatus('idle', id)]);
      const { client, errors } = setup(server, { queueTimeoutMs: 145 });
      void client.connect();
      server.latest.accept();
      at(cold, '5ms x', () => server.latest.fail()); // reconnect at 105
      at(cold, '30ms x', () => void client.sendControl('get_status'));
      at(cold, '150ms x', () => server.latest.acceptResume());
      const types = map((event: { type: string }) => event.type);
      expectObservable(client.send('one').pipe(types), '10ms ^').toBe('151ms a 23ms (b|)', {
        a: 'llm_chunk',
        b: 'llm_complete',
      });
      expectObservable(client.send('bad').pipe(types), '22ms ^').toBe('176ms #', undefined, code('upstream_error'));
      // Waiting behind a reply is not waiting for a connection: queueTimeoutMs (145, so at 170) no longer runs.
      expectObservable(client.send('three').pipe(types), '25ms ^').toBe('177ms a-(b|)', {
        a: 'llm_chunk',
        b: 'llm_complete',
      });
      flush();
      expect(server.latest.sentOf('user_message').map((m) => m.data.text)).toEqual(['one', 'bad', 'three']);
      // The control queued last went out at once, beside the first message.
      expect(server.latest.sent.map((m) => m.type)).toEqual([
        'resume',
        'user_message',
        'control',
        'user_message',
        'user_message',
      ]);
      // The drop at 5 is reported at once; the reply's own failure with its request.
      expect(errors.map((e) => e.code)).toEqual(['connection_lost', 'upstream_error']);
      client.disconnect();
    });
  });

  it('keeps a send made while queued messages still wait behind them', () => {
    testScheduler().run(({ cold, expectObservable, flush }) => {
      const server = createFakeServer();
      server.answer('user_message', ({ id, data }) =>
        cold('-a--(b|)', { a: makeChunk(id, data.text), b: makeComplete(id, data.text) }),
      );
      const { client } = setup(server, { reconnectAttempts: 1 });
      void client.connect();
      server.latest.accept();
      at(cold, '5ms x', () => server.latest.fail()); // reconnect at 105
      at(cold, '150ms x', () => server.latest.acceptResume());
      const types = map((event: { type: string }) => event.type);
      expectObservable(client.send('one').pipe(types), '10ms ^').toBe('151ms a--(b|)', {
        a: 'llm_chunk',
        b: 'llm_complete',
      });
      expectObservable(client.send('two').pipe(types), '20ms ^').toBe('155ms a--(b|)', {
        a: 'llm_chunk',
        b: 'llm_complete',
      });
      // Sent while connected, but 'two' still waits: it goes after 'two', not into the running reply.
      expectObservable(client.send('three').pipe(types), '152ms ^').toBe('159ms a--(b|)', {
        a: 'llm_chunk',
        b: 'llm_complete',
      });
      flush();
      expect(server.latest.sentOf('user_message').map((m) => m.data.text)).toEqual(['one', 'two', 'three']);
      client.disconnect();
    });
  });

  it('fails a send that waited queueTimeoutMs for a connection with not_connected, and never sends it', () => {
    testScheduler().run(({ cold, expectObservable, flush }) => {
      const server = createFakeServer();
      const { client, errors } = setup(server, { queueTimeoutMs: 50 });
      void client.connect();
      server.latest.accept();
      server.latest.fail();
      expectObservable(client.send('hello')).toBe('50ms #', undefined, code('not_connected'));
      at(cold, '200ms x', () => server.latest.acceptResume());
      flush();
      expect(server.latest.sentOf('user_message')).toEqual([]);
      expect(errors.map((e) => [e.code, e.message])).toEqual([
        ['connection_lost', 'connection lost (the socket failed: network down)'],
        ['not_connected', 'the message waited 50 ms for a connection (queueTimeoutMs)'],
      ]);
      client.disconnect();
    });
  });

  it('times a reply out after replyTimeoutMs, aborting it on the server; a call can set its own timeoutMs', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions, flush }) => {
      const server = createFakeServer();
      const answers: Array<ReturnType<typeof cold>> = [];
      server.answer('user_message', ({ id }) => {
        const answer = cold('-a--------', { a: makeChunk(id, 'slow') });
        answers.push(answer);
        return answer;
      });
      const { client, errors } = setup(server, { replyTimeoutMs: 5 });
      void client.connect();
      server.latest.accept();
      expectObservable(client.send('one')).toBe(
        '-a---#',
        { a: expect.objectContaining({ type: 'llm_chunk' }) },
        code('request_timeout'),
      );
      // Sent once the first reply has timed out (one reply at a time), at 5.
      expectObservable(client.send('two', { timeoutMs: 3, temperature: 0 }), '5ms ^').toBe(
        '6ms a-#',
        { a: expect.objectContaining({ type: 'llm_chunk' }) },
        code('request_timeout'),
      );
      flush();
      const [one, two] = server.latest.sentOf('user_message');
      expect(two?.data).toEqual({ text: 'two', options: { temperature: 0 } }); // timeoutMs stays on the client
      expect(server.latest.sentOf('control').map((c) => c.data)).toEqual([
        { type: 'abort', requestId: one?.id },
        { type: 'abort', requestId: two?.id },
      ]);
      expectSubscriptions(answers[0]?.subscriptions ?? []).toBe('^----!');
      expectSubscriptions(answers[1]?.subscriptions ?? []).toBe('5ms ^--!');
      expect(errors.map((e) => e.message)).toEqual([
        'the reply did not complete within 5 ms',
        'the reply did not complete within 3 ms',
      ]);
      client.disconnect();
    });
  });

  it('aborts a reply whose subscriber leaves before the end', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions, flush }) => {
      const server = createFakeServer();
      const answers: Array<ReturnType<typeof cold>> = [];
      server.answer('user_message', ({ id }) => {
        const answer = cold('-a-a-a-a', { a: makeChunk(id, '.') });
        answers.push(answer);
        return answer;
      });
      const { client } = setup(server);
      void client.connect();
      server.latest.accept();
      expectObservable(client.send('long'), '^----!').toBe('-a-a-', {
        a: expect.objectContaining({ type: 'llm_chunk' }),
      });
      flush();
      expectSubscriptions(answers[0]?.subscriptions ?? []).toBe('^----!');
      client.disconnect();
    });
  });

  it('times a control out after timeout with request_timeout', () => {
    testScheduler().run(({ expectObservable }) => {
      const server = createFakeServer();
      const { client } = setup(server, { timeout: 20 });
      void client.connect();
      server.latest.accept();
      expectObservable(client.errors$.pipe(map((error) => error.message))).toBe('20ms a', {
        a: 'no answer to get_status within 20 ms',
      });
      void client.sendControl('get_status');
    });
  });

  it('uses the given scheduler and random source for the reconnect schedule (outside run mode too)', () => {
    const scheduler = testScheduler();
    scheduler.maxFrames = 60_000;
    const server = createFakeServer();
    const { client } = setup(server, { scheduler, reconnectJitter: 1, random: () => 0.25, queueTimeoutMs: 1000 });
    const delays: number[] = [];
    client.reconnecting$.subscribe(({ delayMs }) => delays.push(delayMs));
    void client.connect();
    server.latest.accept();
    server.latest.fail();
    const failed: LLMWSError[] = [];
    client.send('waits').subscribe({ error: (error: LLMWSError) => failed.push(error) });
    scheduler.flush();
    // Full jitter with a random pick of 0.25: 75% of the 100, 200, 400... ms schedule, all in virtual time.
    expect(delays.slice(0, 3)).toEqual([75, 150, 300]);
    expect(failed.map((e) => e.code)).toEqual(['not_connected']);
    client.disconnect();
  });
});

describe('WSClient callbacks mean what the seed says', () => {
  const connected = () => {
    const server = createFakeServer();
    const { client, errors } = setup(server);
    void client.connect();
    server.latest.accept();
    return { server, client, errors, socket: server.latest };
  };

  it('calls onToolCall once per call as it starts, onToolResult once as it ends', () => {
    const { client, socket } = connected();
    const calls: string[] = [];
    const results: unknown[] = [];
    client.onToolCall(({ toolName, status }) => calls.push(`${toolName}:${status}`));
    client.onToolResult(({ result, error }) => results.push(error ?? result));
    for (const status of ['start', 'complete'] as const)
      socket.deliver({
        type: 'tool_call',
        id: status,
        data: { toolCallId: 'c1', toolName: 'calculate', args: {}, status, requestId: 'r' },
      });
    socket.deliver({
      type: 'tool_result',
      id: 'res',
      data: { toolCallId: 'c1', toolName: 'calculate', result: 14, requestId: 'r' },
    });
    expect(calls).toEqual(['calculate:start']);
    expect(results).toEqual([14]);
    client.disconnect();
  });

  it('calls onStatusChange only when the status changes; sessionStatus$ replays the current one', () => {
    const { client, socket } = connected();
    const changes: string[] = [];
    client.onStatusChange((status) => changes.push(status));
    for (const status of ['idle', 'idle', 'thinking', 'streaming', 'streaming', 'idle'] as const)
      socket.deliver(makeStatus(status));
    const late: string[] = [];
    client.sessionStatus$.subscribe((status) => late.push(status));
    const lateChanges: string[] = [];
    client.onStatusChange((status) => lateChanges.push(status));
    socket.deliver(makeStatus('idle'));
    socket.deliver(makeStatus('thinking'));
    expect(changes).toEqual(['idle', 'thinking', 'streaming', 'idle', 'thinking']);
    expect(late).toEqual(['idle', 'thinking']);
    expect(lateChanges).toEqual(['thinking']);
    client.disconnect();
  });

  it("gives onCommunicationError the server's errors as { code, message, requestId, retryable }, and onError everything once", () => {
    const { client, socket } = connected();
    const communication: LLMWSError[] = [];
    const all: LLMWSError[] = [];
    client.onCommunicationError((error) => communication.push(error));
    client.onError((error) => all.push(error));
    // A reply's error, in the stream (another tab's reply, even: every tab hears of it).
    socket.deliver(makeError('upstream_error', 'the model is away', { requestId: 'r1', retryable: true }, { seq: 1 }));
    // Another tab's frame refused (an older server put it in the stream): not this client's business.
    socket.deliver(makeError('busy', 'a reply is running', { requestId: 'r2', retryable: true }, { seq: 2 }));
    socket.deliver(makeError('unknown_tool_call', 'no tool call c1 waits for an approval', { requestId: 'r3' }));
    socket.deliver('not json');
    client.disconnect();
    void client.sendMessage('offline');
    expect(
      communication.map(({ code, message, retryable, ...rest }) => ({
        code,
        message,
        retryable,
        requestId: (rest as { requestId?: string }).requestId,
      })),
    ).toEqual([
      { code: 'upstream_error', message: 'the model is away', retryable: true, requestId: 'r1' },
      { code: 'invalid_json', message: expect.any(String), retryable: false, requestId: undefined },
    ]);
    expect(all.map((e) => e.code)).toEqual(['upstream_error', 'invalid_json', 'not_connected']);
  });

  it("accepts the seed's sendControl({ type: 'control', id, data: { type } }) and resolves with the answer", async () => {
    const { client, socket } = connected();
    const answer = client.sendControl({ type: 'control', id: 'msg_124', data: { type: 'get_status' } });
    expect(socket.sent.at(-1)).toEqual({ type: 'control', id: 'msg_124', data: { type: 'get_status' } });
    socket.deliver(makeStatus('idle', 'msg_124'));
    await expect(answer).resolves.toMatchObject({ type: 'status', data: { status: 'idle', requestId: 'msg_124' } });
    client.disconnect();
  });

  it('settles fire-and-forget calls without an unhandled rejection: the error goes to onError', async () => {
    const { client, socket } = connected();
    const errors: string[] = [];
    client.onError((error) => errors.push(error.code));
    const unhandled = jest.fn();
    process.on('unhandledRejection', unhandled);
    try {
      void client.sendMessage('Hello!');
      void client.clearHistory();
      const clear = socket.lastSentOf('control');
      socket.deliver(
        makeError('busy', 'clear_history arrived while a reply is running', { requestId: clear?.id, retryable: true }),
      );
      void client.abort();
      client.disconnect();
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).not.toHaveBeenCalled();
      expect(errors).toEqual(['busy']);
    } finally {
      process.off('unhandledRejection', unhandled);
    }
  });
});
