import { catchError, map, type Observable, of } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import type { ColdObservable } from 'rxjs/internal/testing/ColdObservable';
import { connection, type ConnectionHooks, type Link } from '../../src/client/connection';
import type { WSClientOptions } from '../../src/client/options';
import { resolveClientOptions } from '../../src/client/resolve-options';
import type { LLMWSError } from '../../src/errors';
import type { ServerMessage } from '../../src/protocol/codecs';
import { createFakeServer, type FakeServer, makeChunk, makeClosing, makeSession } from '../../src/testing';

/**
 * The connection pipeline alone (client/connection.ts), in virtual time: what each subscription
 * of `connection(...)` does with its sockets (connect, drop, backoff, resume, give up), and what
 * it tells the client through its hooks. WSClient's own marble tests cover the queue on top.
 */
const testScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

/** Runs `action` at the frame the marble's `x` stands at (inside `TestScheduler.run`). */
const at = (cold: (marbles: string) => Observable<string>, marbles: string, action: () => void) =>
  cold(marbles).subscribe(() => action());

function pipeline(server: FakeServer, options: Partial<WSClientOptions> = {}) {
  const resolved = resolveClientOptions({
    url: 'ws://fake/ws',
    heartbeatInterval: 0,
    reconnectDelay: 100,
    reconnectJitter: 0,
    ...options,
  });
  const events: string[] = [];
  let ids = 0;
  const hooks: ConnectionHooks = {
    cursor: { session: undefined, lastSeq: 0 },
    receive: (raw) => {
      const message = JSON.parse(raw) as ServerMessage;
      if (message.seq !== undefined) hooks.cursor.lastSeq = Math.max(hooks.cursor.lastSeq, message.seq);
      return message;
    },
    written: () => undefined,
    nextId: () => `id-${ids++}`,
    greeted: (link: Link) => events.push(`greeted ${link.epoch}`),
    resumeRefused: () => events.push('resume refused'),
    lost: (close, willReconnect) => events.push(`lost ${close?.code} ${willReconnect}`),
    failed: (error) => events.push(`failed ${error.code}`),
    retrying: ({ attempt, delayMs }) => events.push(`retry ${attempt} in ${delayMs}`),
    ping: () => undefined,
  };
  return { links$: connection(resolved, server.WebSocketCtor, hooks), events, hooks };
}

/** A pipeline's links by epoch, and its error by code. */
const epochs = (links$: Observable<Link>): Observable<number | string> =>
  links$.pipe(
    map((link) => link.epoch),
    catchError((error: LLMWSError) => of(error.code)),
  );

describe('connection() (marbles)', () => {
  it('connects, drops, waits its backoff, resumes from the last seq read, and closes with 1000 when left', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions, flush }) => {
      const server = createFakeServer();
      const resumeAnswers: Array<ColdObservable<ServerMessage>> = [];
      server.answer('resume', ({ id, data }) => {
        // Answered two frames after it arrives: the link comes then, not when the socket opens.
        const answer = cold<ServerMessage>('--a', {
          a: makeSession(data.sessionId, { resumeToken: data.resumeToken, resumed: true, requestId: id }),
        });
        resumeAnswers.push(answer);
        return answer;
      });
      const { links$, events, hooks } = pipeline(server);
      expectObservable(epochs(links$), '^ 199ms !').toBe('a 112ms b', { a: 1, b: 2 });
      at(cold, 'x', () => server.latest.accept('session-1'));
      at(cold, '5ms x', () => server.latest.deliver(makeChunk('r1', 'hi', { seq: 3 })));
      at(cold, '10ms x', () => server.latest.serverClose(1012, 'restarting'));
      // The retry's socket is made at 110 ms and opens a frame later; the resume goes out then.
      at(cold, '111ms x', () => server.latest.open());
      flush();
      expect(server.sockets).toHaveLength(2);
      expect(server.sockets[1]?.resumeRequest?.data).toEqual({
        sessionId: 'session-1',
        resumeToken: expect.any(String),
        lastSeq: 3,
      });
      expect(hooks.cursor.session?.sessionId).toBe('session-1');
      expect(events).toEqual([
        'greeted 1',
        'failed connection_lost',
        'retry 1 in 100',
        'lost 1012 true',
        'greeted 2',
        'lost 1000 false',
      ]);
      expect(server.sockets[1]?.readyState).toBe(3);
      // The resume's answer is part of the attempt: subscribed when the resume went out, left when the app left.
      expectSubscriptions(resumeAnswers.map((answer) => answer.subscriptions).flat()).toBe('111ms ^ 88ms !');
    });
  });

  it('waits at least what the server closing message asked before reconnecting', () => {
    testScheduler().run(({ cold, expectObservable, flush }) => {
      const server = createFakeServer({ autoAccept: true });
      const { links$, events } = pipeline(server);
      expectObservable(epochs(links$), '^ 999ms !').toBe('a 509ms b', { a: 1, b: 2 });
      at(cold, '5ms x', () => server.latest.deliver(makeClosing('server stopping', 500)));
      at(cold, '10ms x', () => server.latest.serverClose(1001, 'server stopping'));
      flush();
      expect(events.filter((event) => event.startsWith('retry'))).toEqual(['retry 1 in 500']);
    });
  });

  it('gives up after reconnectAttempts with reconnect_failed, each failed attempt told at once', () => {
    testScheduler().run(({ cold, expectObservable, flush }) => {
      const server = createFakeServer();
      const { links$, events } = pipeline(server, { reconnectAttempts: 1 });
      expectObservable(epochs(links$)).toBe('a 110ms (b|)', { a: 1, b: 'reconnect_failed' });
      at(cold, 'x', () => server.latest.accept());
      at(cold, '10ms x', () => server.latest.fail());
      // The reconnect's socket, made at 110 ms, fails a frame later, before its greeting.
      at(cold, '111ms x', () => server.latest.fail());
      flush();
      expect(events).toEqual([
        'greeted 1',
        'failed connection_lost',
        'retry 1 in 100',
        'lost 1006 true',
        'failed connection_lost',
      ]);
    });
  });

  it('does not retry a refusal (4401): it ends the pipeline at once', () => {
    testScheduler().run(({ cold, expectObservable, flush }) => {
      const server = createFakeServer({ autoAccept: true });
      const { links$, events } = pipeline(server);
      expectObservable(epochs(links$)).toBe('a 9ms (b|)', { a: 1, b: 'connection_refused' });
      at(cold, '10ms x', () => server.latest.serverClose(4401, 'unauthorized'));
      flush();
      expect(server.sockets).toHaveLength(1);
      expect(events).toEqual(['greeted 1', 'failed connection_refused', 'lost 4401 false']);
    });
  });
});
