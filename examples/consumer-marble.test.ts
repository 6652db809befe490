/**
 * How to marble-test your own code built on llm-ws, end to end in virtual time: the client from
 * `llm-ws/client`, a fake server and message factories from `llm-ws/testing` (browser-safe, so
 * this works under Karma or Vitest's browser mode too), and rxjs's TestScheduler.
 *
 * `replyText$` and `typing$` stand for your code; the test drives the client as your users would.
 * CI runs this file with jest (see jest.config.ts).
 */
import { distinctUntilChanged, filter, map, mergeMap, type Observable, scan } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { WSClient } from 'llm-ws/client';
import { createFakeServer, makeChunk, makeComplete, makeReply, makeStatus } from 'llm-ws/testing';

// ---- Your code -------------------------------------------------------------------------------

/** The reply's text so far, growing chunk by chunk. */
function replyText$(client: WSClient, question: string): Observable<string> {
  return client.send(question).pipe(
    filter((event) => event.type === 'llm_chunk'),
    map((event) => (event.type === 'llm_chunk' ? event.data.chunk : '')),
    scan((text, chunk) => text + chunk, ''),
  );
}

/** Whether to show a typing indicator. */
function typing$(client: WSClient): Observable<boolean> {
  return client.sessionStatus$.pipe(
    map((status) => status === 'thinking' || status === 'streaming'),
    distinctUntilChanged(),
  );
}

// ---- Its tests -------------------------------------------------------------------------------

const newScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

/** A client on a fake server that greets every connection by itself. */
function connectedClient() {
  const server = createFakeServer({ autoAccept: true });
  // heartbeatInterval: 0 turns the heartbeat off: a periodic ping would keep virtual time running for ever.
  const client = new WSClient({ url: 'ws://fake/ws', WebSocketCtor: server.WebSocketCtor, heartbeatInterval: 0 });
  void client.connect();
  return { server, client };
}

describe('my chat code, marble-tested with llm-ws/testing', () => {
  it('grows the reply text chunk by chunk', () => {
    newScheduler().run(({ cold, expectObservable, expectSubscriptions, flush }) => {
      const { server, client } = connectedClient();
      const answers: Array<ReturnType<typeof cold>> = [];
      server.answer('user_message', ({ id }) => {
        const answer = cold('--a-b--(c|)', {
          a: makeChunk(id, 'Hel'),
          b: makeChunk(id, 'lo!'),
          c: makeComplete(id, 'Hello!'),
        });
        answers.push(answer);
        return answer;
      });
      // The fake server greets at frame 0; the question goes out then, and the answer streams.
      expectObservable(replyText$(client, 'hi')).toBe('--a-b--|', { a: 'Hel', b: 'Hello!' });
      flush();
      expectSubscriptions(answers[0]?.subscriptions ?? []).toBe('^------!');
      client.disconnect();
    });
  });

  it('stops the reply on the server when my code unsubscribes early', () => {
    newScheduler().run(({ cold, expectObservable, expectSubscriptions, flush }) => {
      const { server, client } = connectedClient();
      const answers: Array<ReturnType<typeof cold>> = [];
      server.answer('user_message', ({ id }) => {
        const answer = cold('-a-a-a-a-a', { a: makeChunk(id, '.') });
        answers.push(answer);
        return answer;
      });
      expectObservable(replyText$(client, 'a long story'), '^----!').toBe('-a-b-', { a: '.', b: '..' });
      flush();
      // The client sent `abort` at frame 5, and the (fake) server stopped the reply.
      expectSubscriptions(answers[0]?.subscriptions ?? []).toBe('^----!');
      expect(server.latest.lastSentOf('control')?.data.type).toBe('abort');
      client.disconnect();
    });
  });

  it('shows the typing indicator while the session thinks or streams', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      const { server, client } = connectedClient();
      server.answer('user_message', ({ id }) =>
        cold('a-b-c-d-(e|)', {
          a: makeStatus('thinking'),
          b: makeStatus('streaming'),
          c: makeReply(id, ['Hi']),
          d: makeStatus('streaming'),
          e: makeStatus('idle'),
        }).pipe(mergeMap((message) => (Array.isArray(message) ? message : [message]))),
      );
      expectObservable(typing$(client)).toBe('a-------b', { a: true, b: false });
      cold('x').subscribe(() => void client.sendMessage('hi'));
      cold('10ms x').subscribe(() => client.disconnect());
    });
  });
});
