import { TestScheduler } from 'rxjs/testing';
import { arithmeticIn, OFFLINE_HELP_TEXT, offlineAnswer, offlineProvider } from '../../src/llm/offline-provider';
import type { LLMEvent, LLMRequest } from '../../src/llm/types';
import type { HistoryMessage } from '../../src/protocol/codecs';

const tools = [
  { name: 'calculate', description: '', parameters: {} },
  { name: 'get_current_time', description: '', parameters: {} },
];
const ask = (messages: HistoryMessage[], options: LLMRequest['options'] = {}, offered = tools): LLMEvent[] =>
  offlineAnswer({ messages, tools: offered, options }, 'call_x');
const textOf = (events: LLMEvent[]): string =>
  events.map((event) => (event.type === 'text' ? event.delta : '')).join('');

describe('arithmeticIn', () => {
  it.each<[string, string | undefined]>([
    ['what is 2+3*4?', '2+3*4'],
    ['Calculate (1 + 2) ^ 3', '(1 + 2) ^ 3'],
    ["what's sqrt(16)", 'sqrt(16)'],
    ['5!', '5!'],
    ['how much is 7 × 6.', '7 × 6'],
    ['what is 42', undefined],
    ['what time is it?', undefined],
    ['tell me a story', undefined],
  ])('finds the arithmetic in %j', (text, expected) => {
    expect(arithmeticIn(text)).toBe(expected);
  });
});

describe('offlineAnswer', () => {
  it('calls calculate for arithmetic, with arguments split into fragments', () => {
    const events = ask([{ role: 'user', content: 'what is 2+3*4?' }]);
    expect(events[events.length - 1]).toEqual({ type: 'finish', reason: 'tool_calls' });
    const args = events.map((event) => (event.type === 'tool_call_delta' ? (event.argumentsDelta ?? '') : '')).join('');
    expect(JSON.parse(args)).toEqual({ expression: '2+3*4' });
    expect(events[0]).toMatchObject({ type: 'tool_call_delta', index: 0, id: 'call_x', name: 'calculate' });
  });

  it('calls get_current_time for the time', () => {
    expect(ask([{ role: 'user', content: 'What time is it?' }])[0]).toMatchObject({ name: 'get_current_time' });
  });

  it('answers from the tool results it asked for', () => {
    const events = ask([
      { role: 'user', content: 'what is 2+3*4' },
      { role: 'assistant', content: '', toolCalls: [{ id: 'c', name: 'calculate', arguments: '{}' }] },
      { role: 'tool', content: '{"expression":"2+3*4","result":14}', toolCallId: 'c', toolName: 'calculate' },
    ]);
    expect(textOf(events)).toBe('2+3*4 = 14');
    expect(events.slice(-2)).toMatchObject([{ type: 'finish', reason: 'stop' }, { type: 'usage' }]);
  });

  it('reports a failed tool in words', () => {
    const events = ask([
      { role: 'user', content: 'what is 1/0' },
      { role: 'tool', content: 'Error: division by zero', toolCallId: 'c', toolName: 'calculate' },
    ]);
    expect(textOf(events)).toBe('The calculate tool failed: division by zero');
  });

  it('says how to configure a real model for anything else, and when tools are not allowed', () => {
    expect(textOf(ask([{ role: 'user', content: 'write me a poem' }]))).toBe(OFFLINE_HELP_TEXT);
    expect(textOf(ask([{ role: 'user', content: 'what is 1+1' }], { toolChoice: 'none' }))).toBe(OFFLINE_HELP_TEXT);
    expect(textOf(ask([{ role: 'user', content: 'what is 1+1' }], {}, []))).toBe(OFFLINE_HELP_TEXT);
  });
});

describe('offlineProvider', () => {
  it('streams its answer with one pause before each event', () => {
    new TestScheduler((actual, expected) => expect(actual).toEqual(expected)).run(({ expectObservable }) => {
      const request: LLMRequest = { messages: [{ role: 'user', content: 'what is 1+1' }], tools, options: {} };
      const [a, b, c] = offlineAnswer(request, 'call_offline_1');
      expectObservable(offlineProvider({ chunkDelayMs: 2 })(request)).toBe('--a-b-(c|)', { a, b, c });
    });
  });
});
