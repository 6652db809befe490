import { chatFromHistory } from '../../src/angular/chat-history';
import { applyChatEvent, type ChatMessage } from '../../src/angular/chat-log';

/** Branches in the chat's messages: the server's history as messages, and the reducer's edit and regenerate. */
describe('chatFromHistory', () => {
  it('makes a message of each user message and one reply of the model messages after it, with server ids and siblings', () => {
    const messages = chatFromHistory([
      { role: 'user', content: 'what is 6*7?', id: 'u1', siblingIds: ['u0', 'u1'] },
      {
        role: 'assistant',
        content: '',
        id: 'a1',
        toolCalls: [{ id: 't1', name: 'calculate', arguments: '{"e":"6*7"}' }],
      },
      { role: 'tool', content: '{"result":42}', id: 'x1', toolCallId: 't1', toolName: 'calculate' },
      { role: 'assistant', content: '42', id: 'a2', finishReason: 'stop' },
    ]);
    expect(messages).toEqual<ChatMessage[]>([
      {
        id: 'u1',
        messageId: 'u1',
        siblingIds: ['u0', 'u1'],
        role: 'user',
        text: 'what is 6*7?',
        status: 'done',
        toolCalls: [],
      },
      {
        id: 'a1',
        messageId: 'a1',
        role: 'assistant',
        text: '42',
        status: 'done',
        finishReason: 'stop',
        toolCalls: [{ id: 't1', name: 'calculate', args: { e: '6*7' }, status: 'complete', result: { result: 42 } }],
      },
    ]);
  });
});

describe('applyChatEvent: branches', () => {
  const log: ChatMessage[] = [
    { id: 'u1', messageId: 'u1', role: 'user', text: 'first', status: 'done', toolCalls: [] },
    { id: 'a1', messageId: 'a1', role: 'assistant', text: 'one', status: 'done', toolCalls: [] },
    { id: 'u2', messageId: 'u2', role: 'user', text: 'second', status: 'done', toolCalls: [] },
    { id: 'a2', messageId: 'a2', role: 'assistant', text: 'two', status: 'done', toolCalls: [] },
  ];
  const streaming = (id: string): ChatMessage => ({
    id,
    role: 'assistant',
    text: '',
    status: 'streaming',
    toolCalls: [],
  });

  it('regenerating replaces the last reply with a streaming one', () => {
    expect(applyChatEvent(log, { kind: 'regenerating', replyId: 'r' })).toEqual([...log.slice(0, 3), streaming('r')]);
  });

  it('an edit cuts the conversation at the edited message and asks again', () => {
    expect(
      applyChatEvent(log, { kind: 'edited', messageId: 'u1', userId: 'n', replyId: 'r', text: 'changed' }),
    ).toEqual([{ id: 'n', role: 'user', text: 'changed', status: 'done', toolCalls: [] }, streaming('r')]);
  });

  it("a reply's llm_complete gives it and its question their server ids", () => {
    const sent = applyChatEvent([], { kind: 'sent', userId: 'user-1', replyId: 'reply-1', text: 'hi' });
    const done = applyChatEvent(sent, {
      kind: 'reply',
      replyId: 'reply-1',
      event: {
        type: 'llm_complete',
        id: 'm',
        data: { fullText: 'hello', finishReason: 'stop', requestId: 'q', messageId: 'a9', userMessageId: 'u9' },
      },
    });
    expect(done.map((message) => [message.id, message.messageId])).toEqual([
      ['user-1', 'u9'],
      ['reply-1', 'a9'],
    ]);
  });
});
