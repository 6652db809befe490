import { map } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { WSClient } from '../../src/client/ws-client';
import { createFakeServer, makeChunk, makeComplete, makeServerMessage, replyMarbles } from '../../src/testing';

const testScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

/** The messages without their made-up ids. */
const withoutIds = (values: Record<string, { type: string; data: unknown }>) =>
  Object.fromEntries(Object.entries(values).map(([key, { type, data }]) => [key, { type, data }]));

describe('replyMarbles', () => {
  it.each<[string, string]>([
    ['ab|', 'ab(\u03A9\u03C9|)'],
    ['-a-b|', '-a-b(\u03A9\u03C9|)'],
    ['a 10ms b|', 'a 10ms b(\u03A9\u03C9|)'],
    ['(ab|)', '(ab\u03A9\u03C9|)'],
    ['-a-a', '-a-a'], // no end: a stream cut short
  ])('turns %s into %s', (marbles, expected) => {
    expect(replyMarbles('r1', marbles)[0]).toBe(expected);
  });

  it('makes each letter a chunk (its text the letter or texts[letter]) and | the end chunk and llm_complete', () => {
    const [, values] = replyMarbles('r1', 'a-b-a|', { a: 'Hel', b: 'lo' }, { finishReason: 'length' });
    expect(withoutIds(values)).toEqual(
      withoutIds({
        a: makeChunk('r1', 'Hel'),
        b: makeChunk('r1', 'lo'),
        '\u03A9': makeServerMessage('llm_chunk', { chunk: '', isComplete: true, requestId: 'r1' }),
        '\u03C9': makeComplete('r1', 'HelloHel', { finishReason: 'length' }),
      }),
    );
  });

  it("refuses '#' (a reply fails with an error message) and the end's own keys", () => {
    expect(() => replyMarbles('r1', 'a#')).toThrow(/makeError/);
    expect(() => replyMarbles('r1', 'a\u03C9|')).toThrow(/kept for the reply's end/);
  });

  it("gives send() the chunks, then the end and llm_complete in the frame of the '|', then completion", () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions, flush }) => {
      const server = createFakeServer({ autoAccept: true });
      const answers: Array<ReturnType<typeof cold>> = [];
      server.answer('user_message', ({ id }) => {
        const answer = cold(...replyMarbles(id, '-a-b|', { a: 'Hel', b: 'lo' }));
        answers.push(answer);
        return answer;
      });
      const client = new WSClient({ url: 'ws://fake/ws', WebSocketCtor: server.WebSocketCtor, heartbeatInterval: 0 });
      void client.connect();
      const events = client
        .send('hi')
        .pipe(map((event) => (event.type === 'llm_chunk' ? event.data.chunk || 'end' : event.type)));
      expectObservable(events).toBe('-a-b(ec|)', { a: 'Hel', b: 'lo', e: 'end', c: 'llm_complete' });
      flush();
      expectSubscriptions(answers[0]?.subscriptions ?? []).toBe('^---!');
      client.disconnect();
    });
  });
});
