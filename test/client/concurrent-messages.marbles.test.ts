import { map, type Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { WSClient } from '../../src/client/ws-client';
import { createFakeServer, type FakeServer, makeChunk, makeComplete, makeSession } from '../../src/testing';

/**
 * What the client does with a second message while a reply runs, by what the server's greeting
 * says: a server that queues or interrupts gets it at once; one that says nothing (or refuses
 * concurrent messages) gets it after the running reply, as while connecting.
 */
const testScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

const at = (cold: (marbles: string) => Observable<string>, marbles: string, action: () => void) =>
  cold(marbles).subscribe(() => action());

function setup(server: FakeServer) {
  return new WSClient({
    url: 'ws://fake/ws',
    WebSocketCtor: server.WebSocketCtor,
    heartbeatInterval: 0,
    reconnectJitter: 0,
    reconnectDelay: 100,
    timeout: 1000,
  });
}

const types = map((event: { type: string }) => event.type);
const reply = { a: 'llm_chunk', b: 'llm_complete' };

describe('WSClient and concurrent messages (marbles)', () => {
  it.each([
    ['queue', true],
    ['interrupt', true],
    ['reject', false],
    [undefined, false],
  ] as const)(
    'on a live connection, a server whose greeting says %s gets the second message at once: %s',
    (mode, atOnce) => {
      testScheduler().run(({ cold, expectObservable, expectSubscriptions, flush }) => {
        const server = createFakeServer();
        const answers: Array<ReturnType<typeof cold>> = [];
        server.answer('user_message', ({ id, data }) => {
          const answer = cold('-a--(b|)', { a: makeChunk(id, data.text), b: makeComplete(id, data.text) });
          answers.push(answer);
          return answer;
        });
        const client = setup(server);
        void client.connect();
        server.latest.open();
        server.latest.deliver(makeSession('s1', mode === undefined ? {} : { concurrentMessages: mode }));
        expectObservable(client.send('one').pipe(types), '1ms ^').toBe('2ms a--(b|)', reply);
        // The fake server answers each message as it comes: a server that queues would hold the
        // second until the first ended, so only when it went out is checked here.
        expectObservable(client.send('two').pipe(types), '2ms ^').toBe(atOnce ? '3ms a--(b|)' : '6ms a--(b|)', reply);
        flush();
        expectSubscriptions(answers[1]?.subscriptions ?? []).toBe(atOnce ? '2ms ^---!' : '5ms ^---!');
        client.disconnect();
      });
    },
  );

  it('while connecting, messages queued for a server that queues go out together once it greets', () => {
    testScheduler().run(({ cold, expectObservable, flush }) => {
      const server = createFakeServer();
      server.answer('user_message', ({ id, data }) =>
        cold('-a--(b|)', { a: makeChunk(id, data.text), b: makeComplete(id, data.text) }),
      );
      const client = setup(server);
      void client.connect();
      at(cold, '10ms x', () => {
        server.latest.open();
        server.latest.deliver(makeSession('s1', { concurrentMessages: 'queue' }));
      });
      expectObservable(client.send('one').pipe(types)).toBe('11ms a--(b|)', reply);
      expectObservable(client.send('two').pipe(types), '1ms ^').toBe('11ms a--(b|)', reply);
      flush();
      expect(server.latest.sentOf('user_message').map((m) => m.data.text)).toEqual(['one', 'two']);
      client.disconnect();
    });
  });
});
