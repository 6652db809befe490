import { accumulateRound, emptyRound, type RoundSnapshot } from '../../src/llm/accumulate-round';
import type { LLMEvent } from '../../src/llm/types';

const fold = (events: LLMEvent[]): RoundSnapshot => events.reduce(accumulateRound, emptyRound);

describe('accumulateRound', () => {
  it.each<[string, LLMEvent[], Partial<RoundSnapshot>]>([
    [
      'text deltas, concatenated',
      [
        { type: 'text', delta: 'Hel' },
        { type: 'text', delta: 'lo' },
      ],
      { text: 'Hello', toolCalls: [] },
    ],
    [
      'reasoning deltas, kept apart from the text',
      [
        { type: 'reasoning', delta: 'Hm' },
        { type: 'text', delta: 'Hi' },
        { type: 'reasoning', delta: 'm.' },
      ],
      { text: 'Hi', reasoning: 'Hmm.' },
    ],
    [
      'one tool call split across fragments',
      [
        { type: 'tool_call_delta', index: 0, id: 'c1', name: 'calculate', argumentsDelta: '' },
        { type: 'tool_call_delta', index: 0, argumentsDelta: '{"expre' },
        { type: 'tool_call_delta', index: 0, argumentsDelta: 'ssion":"1+1"}' },
      ],
      { toolCalls: [{ index: 0, id: 'c1', name: 'calculate', arguments: '{"expression":"1+1"}' }] },
    ],
    [
      'two calls interleaved, ordered by index',
      [
        { type: 'tool_call_delta', index: 1, id: 'b', name: 'second', argumentsDelta: '{"x"' },
        { type: 'tool_call_delta', index: 0, id: 'a', name: 'first', argumentsDelta: '{}' },
        { type: 'tool_call_delta', index: 1, argumentsDelta: ':1}' },
      ],
      {
        toolCalls: [
          { index: 0, id: 'a', name: 'first', arguments: '{}' },
          { index: 1, id: 'b', name: 'second', arguments: '{"x":1}' },
        ],
      },
    ],
    [
      'a finish reason and usage',
      [
        { type: 'finish', reason: 'length' },
        { type: 'usage', usage: { promptTokens: 1, completionTokens: 2, totalTokens: 3 } },
      ],
      { finishReason: 'length', usage: { promptTokens: 1, completionTokens: 2, totalTokens: 3 } },
    ],
    ['nothing at all', [], emptyRound],
  ])('folds %s', (_name, events, expected) => {
    expect(fold(events)).toMatchObject(expected);
  });

  it('never mutates the snapshot it is given', () => {
    const before = fold([{ type: 'tool_call_delta', index: 0, id: 'a', name: 'f', argumentsDelta: '{' }]);
    const frozen = JSON.stringify(before);
    accumulateRound(before, { type: 'tool_call_delta', index: 0, argumentsDelta: '}' });
    accumulateRound(before, { type: 'text', delta: 'x' });
    expect(JSON.stringify(before)).toBe(frozen);
  });
});
