import type { HistoryMessage } from '../../src/protocol/codecs';
import { createConversation, trimHistory } from '../../src/core/conversation';
import { withoutIds } from '../utils/history';

const user = (content: string): HistoryMessage => ({ role: 'user', content });
const assistant = (content: string): HistoryMessage => ({ role: 'assistant', content });
const calls = (...ids: string[]): HistoryMessage => ({
  role: 'assistant',
  content: '',
  toolCalls: ids.map((id) => ({ id, name: 'calculate', arguments: '{}' })),
});
const result = (id: string): HistoryMessage => ({ role: 'tool', content: '1', toolCallId: id, toolName: 'calculate' });

describe('trimHistory', () => {
  it.each<[string, HistoryMessage[], number, HistoryMessage[]]>([
    ['nothing when under the limit', [user('a'), assistant('b')], 5, [user('a'), assistant('b')]],
    [
      'the oldest messages first',
      [user('1'), assistant('2'), user('3'), assistant('4')],
      2,
      [user('3'), assistant('4')],
    ],
    [
      'tool results whose call was trimmed',
      [user('q'), calls('x', 'y'), result('x'), result('y'), assistant('done')],
      3,
      [assistant('done')],
    ],
    [
      'only as far as the orphaned results reach',
      [user('q'), calls('x'), result('x'), assistant('a'), user('next')],
      3,
      [assistant('a'), user('next')],
    ],
    ['keeps a call together with its results', [user('q'), calls('x'), result('x')], 2, [calls('x'), result('x')]],
    ['to nothing rather than leave an orphan', [calls('x'), result('x'), result('x')], 1, []],
  ])('trims %s', (_name, history, max, expected) => {
    expect(trimHistory(history, max)).toEqual(expected);
  });

  it('never leaves a tool message without its call, for any history and limit', () => {
    const history = [
      user('q'),
      calls('a', 'b'),
      result('a'),
      result('b'),
      assistant('x'),
      user('r'),
      calls('c'),
      result('c'),
      assistant('y'),
    ];
    for (let max = 1; max <= history.length; max++) {
      const kept = trimHistory(history, max);
      expect(kept.length).toBeLessThanOrEqual(max);
      kept.forEach((message, i) => {
        if (message.role !== 'tool') return;
        const call = kept
          .slice(0, i)
          .reverse()
          .find((m) => m.toolCalls);
        expect(call?.toolCalls?.some((c) => c.id === message.toolCallId)).toBe(true);
      });
    }
  });
});

describe('createConversation', () => {
  it('puts the system prompt first for the model and keeps it out of the history', () => {
    const conversation = createConversation({ systemPrompt: 'Be brief.', maxHistoryLength: 2 });
    conversation.append(user('1'), assistant('2'), user('3'));
    expect(withoutIds(conversation.messages())).toEqual([assistant('2'), user('3')]);
    expect(conversation.forModel()).toEqual([{ role: 'system', content: 'Be brief.' }, assistant('2'), user('3')]);
    conversation.clear();
    expect(conversation.forModel()).toEqual([{ role: 'system', content: 'Be brief.' }]);
  });

  it('sends no system message when the prompt is empty', () => {
    const conversation = createConversation({ systemPrompt: '' });
    conversation.append(user('hi'));
    expect(conversation.forModel()).toEqual([user('hi')]);
  });

  it('refuses a history length below 1', () => {
    expect(() => createConversation({ maxHistoryLength: 0 })).toThrow(
      /maxHistoryLength must be a whole number of 1 or more, got 0/,
    );
  });
});
