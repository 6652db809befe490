import { type Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import type { LLMEvent } from '../../src/llm/types';
import type { ServerMessage } from '../../src/protocol/codecs';
import { silentLogger } from '../../src/server/logger';
import { createSession } from '../../src/server/session';
import { createToolRegistry } from '../../src/tools';

const e = {
  a: { type: 'text', delta: 'one ' },
  b: { type: 'text', delta: 'two ' },
  c: { type: 'text', delta: 'three' },
  s: { type: 'finish', reason: 'stop' },
} satisfies Record<string, LLMEvent>;

/** A session over a fake transport that records what was sent, and when. */
function harness(scheduler: TestScheduler, rounds: Observable<LLMEvent>[] = []) {
  const sent: { at: number; message: ServerMessage }[] = [];
  let counter = 0;
  const session = createSession({
    sessionId: 'session-1',
    transport: {
      send: (text) => sent.push({ at: scheduler.now(), message: JSON.parse(text) as ServerMessage }),
      close: () => undefined,
    },
    provider: () => {
      const next = rounds.shift();
      if (!next) throw new Error('no more model rounds scripted');
      return next;
    },
    tools: createToolRegistry([]),
    conversation: { systemPrompt: '' },
    maxToolSteps: 5,
    idleTimeoutMs: 10_000,
    logger: silentLogger,
    nextMessageId: () => `m${counter++}`,
  });
  const at = (time: number, frame: unknown): void => {
    scheduler.schedule(() => session.receive(typeof frame === 'string' ? frame : JSON.stringify(frame)), time);
  };
  /** What was sent, as `time type [detail]` lines: easy to read in a failing test. */
  const log = (): string[] =>
    sent.map(({ at: time, message }) => {
      const data = message.data as Record<string, unknown>;
      const detail = data.status ?? data.chunk ?? data.code ?? data.finishReason ?? '';
      return `${time} ${message.type} ${String(detail)} ${String(data.requestId ?? '')}`.trim();
    });
  return { session, sent, at, log };
}

const userMessage = (id: string, text = 'hi') => ({ type: 'user_message', id, data: { text } });
const control = (id: string, type: string, requestId?: string) => ({ type: 'control', id, data: { type, ...(requestId ? { requestId } : {}) } });
const newScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

describe('session', () => {
  it('greets with its session id, and gives every message a unique id', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold }) => {
      const { sent, at } = harness(scheduler, [cold<LLMEvent>('-a-(s|)', e)]);
      at(1, userMessage('q1'));
      at(10, { type: 'ping', id: 'p1' });
      scheduler.flush();
      expect(sent[0]?.message).toEqual({ type: 'session', id: 'm0', data: { sessionId: 'session-1' } });
      const ids = sent.map(({ message }) => message.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect(sent[sent.length - 1]?.message).toEqual({ type: 'pong', id: ids[ids.length - 1], data: { requestId: 'p1' } });
    });
  });

  it('holds chunks while paused and releases them in order on resume', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold }) => {
      const { at, log } = harness(scheduler, [cold<LLMEvent>('-a-b-c-(s|)', e)]);
      at(0, userMessage('q1'));
      at(2, control('c1', 'pause'));
      at(6, control('c2', 'get_status'));
      at(10, control('c3', 'resume'));
      scheduler.flush();
      expect(log()).toEqual([
        '0 session',
        '0 status thinking q1',
        '1 status streaming q1',
        '1 llm_chunk one  q1',
        '2 status paused c1',
        '6 status paused c2',
        '10 llm_chunk two  q1',
        '10 llm_chunk three q1',
        '10 llm_chunk  q1',
        '10 llm_complete stop q1',
        '10 status idle q1',
        '10 status idle c3',
      ]);
    });
  });

  it('aborts a paused reply: held chunks first, then the aborted ending, and the upstream is cancelled', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold, expectSubscriptions }) => {
      const model = cold<LLMEvent>('-a-b-c-(s|)', e);
      const { at, log, sent } = harness(scheduler, [model]);
      at(0, userMessage('q1'));
      at(2, control('c1', 'pause'));
      at(4, control('c2', 'abort', 'q1'));
      scheduler.flush();
      expectSubscriptions(model.subscriptions).toBe('^---!');
      expect(log().slice(4)).toEqual([
        '2 status paused c1',
        '4 llm_chunk two  q1',
        '4 llm_chunk  q1',
        '4 llm_complete aborted q1',
        '4 status idle q1',
        '4 status idle c2',
      ]);
      expect(sent.find(({ message }) => message.type === 'llm_complete')?.message.data).toMatchObject({ fullText: 'one two ' });
    });
  });

  it('ignores an abort aimed at another reply', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold, expectSubscriptions }) => {
      const model = cold<LLMEvent>('-a-b-(s|)', e);
      const { at, log } = harness(scheduler, [model]);
      at(0, userMessage('q2'));
      at(2, control('c1', 'abort', 'q1'));
      scheduler.flush();
      expectSubscriptions(model.subscriptions).toBe('^----!');
      expect(log()).toContain('5 llm_complete stop q2');
      expect(log()).toContain('2 status streaming c1');
    });
  });

  it('refuses a second user_message while a reply runs with busy, and accepts one after', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold }) => {
      const { at, log, sent } = harness(scheduler, [cold<LLMEvent>('-a-(s|)', e), cold<LLMEvent>('-b-(s|)', e)]);
      at(0, userMessage('q1'));
      at(1, userMessage('q2'));
      at(2, control('c1', 'clear_history'));
      at(5, userMessage('q3'));
      scheduler.flush();
      expect(log()).toContain('1 error busy q2');
      expect(log()).toContain('2 error busy c1');
      expect(log()).toContain('8 llm_complete stop q3');
      const busy = sent.find(({ message }) => message.type === 'error')?.message;
      expect(busy?.data).toMatchObject({ retryable: true, message: expect.stringContaining('reply q1 is running') });
    });
  });

  it('answers history controls with the history', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold }) => {
      const { at, sent } = harness(scheduler, [cold<LLMEvent>('-a-(s|)', e)]);
      at(0, userMessage('q1', 'hello'));
      at(5, control('h1', 'get_history'));
      at(6, control('h2', 'clear_history'));
      at(7, control('h3', 'get_history'));
      scheduler.flush();
      const histories = sent.filter(({ message }) => message.type === 'history').map(({ message }) => message.data);
      expect(histories).toEqual([
        { messages: [{ role: 'user', content: 'hello' }, { role: 'assistant', content: 'one ' }], requestId: 'h1' },
        { messages: [], requestId: 'h2' },
        { messages: [], requestId: 'h3' },
      ]);
    });
  });

  it.each<[string, string | Buffer, boolean, object]>([
    ['not JSON', 'hello?', false, { code: 'invalid_json', retryable: false }],
    ['a wrong shape', JSON.stringify({ type: 'user_message', id: 'x1', data: { text: 42 } }), false, { code: 'invalid_message', message: 'data.text: expected string, got 42', requestId: 'x1' }],
    ['an unknown type', JSON.stringify({ type: 'sudo', id: 'x2' }), false, { code: 'unknown_type', requestId: 'x2' }],
    ['a binary frame', Buffer.from([1, 2, 3]), true, { code: 'unsupported_frame', retryable: false }],
  ])('answers %s with an error and keeps serving', (_name, frame, isBinary, expected) => {
    const scheduler = newScheduler();
    scheduler.run(({ cold }) => {
      const { session, sent } = harness(scheduler, [cold<LLMEvent>('(as|)', e)]);
      session.receive(frame, isBinary);
      session.receive(JSON.stringify(userMessage('ok')));
      scheduler.flush();
      expect(sent[1]?.message).toMatchObject({ type: 'error', data: expected });
      expect(sent[sent.length - 2]?.message).toMatchObject({ type: 'llm_complete', data: { requestId: 'ok', fullText: 'one ' } });
    });
  });

  it('cancels the running reply and sends nothing more once disposed', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold, expectSubscriptions }) => {
      const model = cold<LLMEvent>('-a-b-(s|)', e);
      const { session, at, sent } = harness(scheduler, [model]);
      at(0, userMessage('q1'));
      scheduler.schedule(() => session.dispose(), 2);
      at(3, { type: 'ping', id: 'p' });
      scheduler.flush();
      expectSubscriptions(model.subscriptions).toBe('^-!');
      expect(sent.every(({ at: time }) => time < 2)).toBe(true);
    });
  });
});
