import { map, type Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { WSClient } from '../../src/client/ws-client';
import type { WSClientOptions } from '../../src/client/options';
import type { ServerMessage } from '../../src/protocol/codecs';
import { createFakeServer, type FakeServer, makeChunk, makeComplete } from '../../src/testing';

/**
 * The connection's life in virtual time, as the app sees it: connect, drop, backoff, resume, give
 * up, and a message queued across the drop. What a rewrite of the connection must keep.
 */
const testScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

function client(server: FakeServer, options: Partial<WSClientOptions> = {}): WSClient {
  return new WSClient({
    url: 'ws://fake/ws',
    WebSocketCtor: server.WebSocketCtor,
    heartbeatInterval: 0,
    reconnectDelay: 100,
    reconnectJitter: 0,
    ...options,
  });
}

/** Runs `action` at the frame the marble's `x` stands at (inside `TestScheduler.run`). */
const at = (cold: (marbles: string) => Observable<string>, marbles: string, action: () => void) =>
  cold(marbles).subscribe(() => action());

describe('the connection (marbles)', () => {
  it('connects, drops, waits its backoff, resumes its session from the last seq, and sends what was queued', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions, flush }) => {
      const server = createFakeServer({ autoAccept: true });
      const answers: Array<ReturnType<typeof cold<ServerMessage>>> = [];
      server.answer('user_message', ({ id }) => {
        // Numbered in the session's stream, as a server numbers what a resume may replay.
        const seq = answers.length * 2;
        const answer = cold('-a-b|', {
          a: makeChunk(id, 'hi', { seq: seq + 1 }),
          b: makeComplete(id, 'hi', undefined, { seq: seq + 2 }),
        });
        answers.push(answer);
        return answer;
      });
      const ws = client(server);
      expectObservable(ws.status$).toBe('(ab) 6ms c 99ms b', { a: 'connecting', b: 'connected', c: 'reconnecting' });
      expectObservable(ws.reconnecting$).toBe('10ms a', { a: { attempt: 1, delayMs: 100 } });
      expectObservable(ws.disconnected$).toBe('10ms a', {
        a: { code: 1012, reason: 'restarting', willReconnect: true },
      });
      void ws.connect();
      expectObservable(ws.send('first').pipe(map((event) => event.type))).toBe('-a-(b|)', {
        a: 'llm_chunk',
        b: 'llm_complete',
      });
      at(cold, '10ms x', () => server.latest.serverClose(1012, 'restarting'));
      // Sent while the client waits to reconnect: it goes out on the resumed connection.
      let queued: string[] = [];
      at(cold, '50ms x', () => ws.send('queued').subscribe((event) => (queued = [...queued, event.type])));
      flush();
      expect(server.sockets).toHaveLength(2);
      expect(server.sockets[1]?.resumeRequest?.data).toEqual({
        sessionId: 'session-1',
        resumeToken: expect.any(String),
        lastSeq: 2,
      });
      expect(queued).toEqual(['llm_chunk', 'llm_complete']);
      expectSubscriptions(answers[0]?.subscriptions ?? []).toBe('^---!');
      expectSubscriptions(answers[1]?.subscriptions ?? []).toBe('110ms ^---!');
      expect(answers).toHaveLength(2);
    });
  });

  it('reports a network failure (an error, then an unclean close) as 1006 on disconnected$, as a browser does', () => {
    testScheduler().run(({ cold, expectObservable, flush }) => {
      const server = createFakeServer({ autoAccept: true });
      const ws = client(server);
      // rxjs's webSocket errors on the error event, before the close event says 1006.
      expectObservable(ws.disconnected$).toBe('10ms a 189ms b', {
        a: { code: 1006, reason: '', willReconnect: true },
        b: { code: 1000, reason: 'client disconnect', willReconnect: false },
      });
      expectObservable(ws.status$).toBe('(ab) 6ms c 99ms b 89ms d', {
        a: 'connecting',
        b: 'connected',
        c: 'reconnecting',
        d: 'disconnected',
      });
      void ws.connect();
      at(cold, '10ms x', () => server.latest.fail());
      at(cold, '200ms x', () => ws.disconnect());
      flush();
      expect(server.sockets).toHaveLength(2);
    });
  });

  it('gives up after reconnectAttempts: each failure on errors$ at once, then reconnect_failed to what waits', async () => {
    let connected: Promise<void> | undefined;
    testScheduler().run(({ cold, expectObservable, flush }) => {
      const server = createFakeServer();
      const ws = client(server, { reconnectAttempts: 1 });
      // Connected before the marbles subscribe: status$ replays it.
      expectObservable(ws.status$).toBe('a 9ms b 100ms c', { a: 'connected', b: 'reconnecting', c: 'disconnected' });
      expectObservable(ws.errors$.pipe(map((error) => error.code))).toBe('10ms a 100ms (ab)', {
        a: 'connection_lost',
        b: 'reconnect_failed',
      });
      connected = ws.connect();
      server.latest.accept();
      let failure: unknown;
      at(cold, '10ms x', () => server.latest.fail());
      at(cold, '50ms x', () => ws.send('waits').subscribe({ error: (error: unknown) => (failure = error) }));
      // The reconnect's socket, made at 110 ms, fails a frame later.
      at(cold, '111ms x', () => server.latest.fail());
      flush();
      expect(server.sockets).toHaveLength(2);
      expect(failure).toMatchObject({ code: 'reconnect_failed' });
    });
    // connect() settled with the first greeting; the give-up later reaches what waited, not it.
    await expect(connected).resolves.toBeUndefined();
  });
});
