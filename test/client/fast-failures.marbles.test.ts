import { map, type Observable, tap } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { WSClient } from '../../src/client/ws-client';
import type { WSClientOptions } from '../../src/client/options';
import { ServerError } from '../../src/errors';
import { retryWithBackoff } from '../../src/operators/retry-with-backoff';
import type { ServerMessage } from '../../src/protocol/codecs';
import { createFakeServer, type FakeServer, makeChunk, makeComplete, makeError, makeStatus } from '../../src/testing';

/**
 * Failures reported as they happen, in virtual time: each failed connection attempt on errors$
 * at once, the default schedule's give-up, the server's retryAfterMs, round trips, and a second
 * message on a live connection waiting on the client instead of being refused `busy`.
 */
const testScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

function client(server: FakeServer, options: Partial<WSClientOptions> = {}): WSClient {
  return new WSClient({ url: 'ws://fake/ws', WebSocketCtor: server.WebSocketCtor, heartbeatInterval: 0, ...options });
}

/** Runs `action` at the frame the marble's `x` stands at (inside `TestScheduler.run`). */
const at = (cold: (marbles: string) => Observable<string>, marbles: string, action: () => void) =>
  cold(marbles).subscribe(() => action());

describe('connect() fails fast and honestly (marbles)', () => {
  it('with the default options, reports each failed attempt on errors$ at once and gives up by 9.5 s', () => {
    let connecting: Promise<void> | undefined;
    testScheduler().run(({ expectObservable }) => {
      const server = createFakeServer({ unreachable: true });
      // random 0: every delay its longest (full jitter picks between 0 and the capped delay).
      const ws = client(server, { random: () => 0 });
      const codes = { l: 'connection_lost', f: 'reconnect_failed' };
      expectObservable(ws.errors$.pipe(map((error) => error.code))).toBe(
        // attempts at 0, 0.5, 1.5, 3.5, 6.5 and 9.5 s: waits of 500, 1000, 2000, 3000 (the cap), 3000
        'l 499ms l 999ms l 1999ms l 2999ms l 2999ms (lf)',
        codes,
      );
      expectObservable(ws.status$).toBe('(ab) 9496ms c', { a: 'connecting', b: 'reconnecting', c: 'disconnected' });
      connecting = ws.connect();
    });
    return expect(connecting).rejects.toMatchObject({
      code: 'reconnect_failed',
      message: expect.stringContaining('gave up after 5 reconnect attempts'),
    });
  });
});

describe("the server's retryAfterMs (marbles)", () => {
  it('is on the ServerError of rate_limited, and retryWithBackoff waits at least that long before sending again', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions, flush }) => {
      const server = createFakeServer({ autoAccept: true });
      const answers: Array<ReturnType<typeof cold<ServerMessage>>> = [];
      let first = true;
      server.answer('user_message', ({ id }) => {
        const answer: ReturnType<typeof cold<ServerMessage>> = first
          ? cold('-(e|)', {
              e: makeError('rate_limited', 'slow down', { requestId: id, retryable: true, retryAfterMs: 40 }),
            })
          : cold('-a-(b|)', { a: makeChunk(id, 'hi'), b: makeComplete(id, 'hi') });
        first = false;
        answers.push(answer);
        return answer;
      });
      const ws = client(server, { reconnectJitter: 0 });
      const retried: unknown[] = [];
      void ws.connect();
      const reply$ = ws.send('hello').pipe(
        retryWithBackoff({
          maxAttempts: 2,
          initialDelayMs: 5,
          maxDelayMs: 100,
          jitter: 0,
          onRetry: ({ delayMs, error }) => retried.push([delayMs, error instanceof ServerError && error.retryAfterMs]),
        }),
        map((event) => event.type),
      );
      // Sent at 1 (after the greeting at 0), refused at 2; again at 2 + 40 = 42, answered 43 and 45.
      expectObservable(reply$, '1ms ^').toBe('43ms a-(b|)', { a: 'llm_chunk', b: 'llm_complete' });
      flush();
      expectSubscriptions(answers[0]?.subscriptions ?? []).toBe('1ms ^!');
      expectSubscriptions(answers[1]?.subscriptions ?? []).toBe('42ms ^--!');
      expect(retried).toEqual([[40, 40]]);
      ws.disconnect();
    });
  });
});

describe('a live connection (marbles)', () => {
  it('keeps a second message on the client while a reply runs, and sends it when that reply ends: never busy', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions, flush }) => {
      const server = createFakeServer({ autoAccept: true });
      // Like the real server: a user_message while a reply runs is refused with busy.
      let running = 0;
      const answers: Array<ReturnType<typeof cold<ServerMessage>>> = [];
      server.answer('user_message', ({ id, data }) => {
        if (running > 0) return [makeError('busy', 'a reply is running', { requestId: id })];
        running++;
        const answer = cold<ServerMessage>('-a--(b|)', { a: makeChunk(id, data.text), b: makeComplete(id, data.text) });
        answers.push(answer);
        return answer.pipe(tap((message) => message.type === 'llm_complete' && running--));
      });
      const ws = client(server);
      const errors: string[] = [];
      ws.errors$.subscribe((error) => errors.push(error.code));
      void ws.connect();
      const types = map((event: { type: string }) => event.type);
      expectObservable(ws.send('one').pipe(types), '1ms ^').toBe('2ms a--(b|)', { a: 'llm_chunk', b: 'llm_complete' });
      // Sent at 2, while "one" runs: it goes out at 5, when "one" completes.
      expectObservable(ws.send('two').pipe(types), '2ms ^').toBe('6ms a--(b|)', { a: 'llm_chunk', b: 'llm_complete' });
      flush();
      expectSubscriptions(answers[0]?.subscriptions ?? []).toBe('1ms ^---!');
      expectSubscriptions(answers[1]?.subscriptions ?? []).toBe('5ms ^---!');
      expect(server.latest.sentOf('user_message').map((message) => message.data.text)).toEqual(['one', 'two']);
      expect(errors).toEqual([]);
      ws.disconnect();
    });
  });

  it("sets getStats().lastRoundTripMs from the first answer to a request (a reply's thinking status)", () => {
    testScheduler().run(({ cold, flush }) => {
      const server = createFakeServer();
      server.answer('user_message', ({ id }) =>
        cold<ServerMessage>('---s 10ms (b|)', { s: makeStatus('thinking', id), b: makeComplete(id, 'ok') }),
      );
      const ws = client(server);
      void ws.connect();
      at(cold, '2ms x', () => server.latest.accept());
      expect(ws.getStats().lastRoundTripMs).toBeNull();
      at(cold, '5ms x', () => void ws.sendMessage('hello'));
      flush();
      // Sent at 5, the thinking status at 8: 3 ms (the reply's length is not a round trip).
      expect(ws.getStats().lastRoundTripMs).toBe(3);
      ws.disconnect();
    });
  });
});
