import { TestScheduler } from 'rxjs/testing';
import { awaitApproval, awaitClientResult, checkClientTools, clientToolOutcome } from '../../src/tools/client-tools';

const scheduler = (): TestScheduler => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
const tool = (name: string, parameters: Record<string, unknown> = { type: 'object' }) => ({
  name,
  description: `the ${name}`,
  parameters,
});

describe('checkClientTools', () => {
  it('offers valid client tools as definitions', () => {
    expect(checkClientTools([tool('get_browser_time')], ['calculate'])).toEqual({
      ok: true,
      definitions: [{ name: 'get_browser_time', description: 'the get_browser_time', parameters: { type: 'object' } }],
    });
  });

  it.each([
    ["a server tool's name", [tool('calculate')], /client tool calculate has the name of one of this server's tools/],
    ['a repeated name', [tool('a'), tool('a')], /two client tools are named a/],
    [
      'a schema that does not compile',
      [tool('a', { type: 'no-such-type' })],
      /parameters of client tool a are not a valid JSON Schema/,
    ],
  ])('refuses %s', (_name, tools, error) => {
    const checked = checkClientTools(tools, ['calculate']);
    expect(checked.ok).toBe(false);
    expect(!checked.ok && checked.error).toMatch(error);
  });
});

describe('clientToolOutcome', () => {
  it("passes a result, null for none, and the client's error", () => {
    expect(clientToolOutcome({ toolCallId: 'c', result: { a: 1 } }, 't', 100)).toEqual({ ok: true, result: { a: 1 } });
    expect(clientToolOutcome({ toolCallId: 'c' }, 't', 100)).toEqual({ ok: true, result: null });
    expect(clientToolOutcome({ toolCallId: 'c', error: 'no GPS' }, 't', 100)).toEqual({ ok: false, error: 'no GPS' });
  });

  it('refuses a result over the size limit, counted in UTF-8 bytes of its JSON', () => {
    expect(clientToolOutcome({ toolCallId: 'c', result: 'éé' }, 't', 6)).toEqual({ ok: true, result: 'éé' });
    expect(clientToolOutcome({ toolCallId: 'c', result: 'ééé' }, 't', 6)).toEqual({
      ok: false,
      error: 'the result of t has 8 bytes; this server takes at most 6',
    });
  });
});

describe('awaitApproval (marbles)', () => {
  it('takes the first answer naming the call, ignoring others, and unsubscribes from the answers', () => {
    scheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
      const answers = hot('--a--b--c', {
        a: { toolCallId: 'other', approved: true },
        b: { toolCallId: 'call_1', approved: false, reason: 'not now' },
        c: { toolCallId: 'call_1', approved: true },
      });
      expectObservable(awaitApproval(answers, 'call_1', 100)).toBe('-----(x|)', {
        x: { approved: false, reason: 'not now' },
      });
      expectSubscriptions(answers.subscriptions).toBe('^----!');
    });
  });

  it('denies once the timeout passes without an answer', () => {
    scheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
      const answers = hot('-a', { a: { toolCallId: 'other', approved: true } });
      expectObservable(awaitApproval(answers, 'call_1', 5)).toBe('-----(x|)', {
        x: { approved: false, reason: 'no answer within 5 ms' },
      });
      expectSubscriptions(answers.subscriptions).toBe('^----!');
    });
  });

  it('stops waiting when unsubscribed (an abort)', () => {
    scheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
      const answers = hot('--------a', { a: { toolCallId: 'call_1', approved: true } });
      expectObservable(awaitApproval(answers, 'call_1', 100), '^--!').toBe('----');
      expectSubscriptions(answers.subscriptions).toBe('^--!');
    });
  });
});

describe('awaitClientResult (marbles)', () => {
  const call = { id: 'call_1', name: 'get_browser_time' };

  it('takes the result naming the call', () => {
    scheduler().run(({ hot, expectObservable }) => {
      const results = hot('-a-b', { a: { toolCallId: 'x', result: 1 }, b: { toolCallId: 'call_1', result: '12:00' } });
      expectObservable(awaitClientResult(results, call, { timeoutMs: 10, maxResultBytes: 100 })).toBe('---(r|)', {
        r: { ok: true, result: '12:00' },
      });
    });
  });

  it('fails the call once the timeout passes', () => {
    scheduler().run(({ hot, expectObservable }) => {
      const results = hot<{ toolCallId: string }>('-');
      expectObservable(awaitClientResult(results, call, { timeoutMs: 3, maxResultBytes: 100 })).toBe('---(r|)', {
        r: { ok: false, error: 'the client did not run get_browser_time within 3 ms' },
      });
    });
  });
});
