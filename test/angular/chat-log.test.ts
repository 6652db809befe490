import { applyChatEvent, type ChatLogEvent, type ChatMessage } from '../../src/angular/chat-log';
import type { ReplyEvent } from '../../src/client/options';

/** The conversation reducer behind LlmWsChat.messages$, from plain tables. */
const chunk = (text: string, isComplete = false): ReplyEvent => ({
  type: 'llm_chunk',
  id: 'm1',
  data: { chunk: text, isComplete, requestId: 'r' },
});
const complete = (fullText: string): ReplyEvent => ({
  type: 'llm_complete',
  id: 'm2',
  data: {
    fullText,
    requestId: 'r',
    finishReason: 'stop',
    usage: { promptTokens: 3, completionTokens: 2, totalTokens: 5 },
  },
});
const toolCall = (
  status: 'start' | 'complete' | 'error' | 'approval_required' | 'client_execute' | 'denied',
  reason?: string,
): ReplyEvent => ({
  type: 'tool_call',
  id: 'm3',
  data: {
    toolCallId: 't1',
    toolName: 'calculate',
    args: { expression: '6*7' },
    status,
    requestId: 'r',
    ...(reason ? { reason } : {}),
  },
});
const reasoning = (text: string): ReplyEvent => ({
  type: 'llm_reasoning',
  id: 'm5',
  data: { chunk: text, requestId: 'r' },
});
const toolResult = (outcome: { result?: unknown; error?: string }): ReplyEvent => ({
  type: 'tool_result',
  id: 'm4',
  data: { toolCallId: 't1', toolName: 'calculate', requestId: 'r', ...outcome },
});

const sent: ChatLogEvent = { kind: 'sent', userId: 'u1', replyId: 'a1', text: 'hi' };
const reply = (event: ReplyEvent): ChatLogEvent => ({ kind: 'reply', replyId: 'a1', event });
const run = (...events: ChatLogEvent[]): readonly ChatMessage[] =>
  events.reduce<readonly ChatMessage[]>(applyChatEvent, []);
const assistant = (log: readonly ChatMessage[]): ChatMessage | undefined => log.find((message) => message.id === 'a1');

describe('applyChatEvent', () => {
  it('adds the user message and a streaming reply', () => {
    expect(run(sent)).toEqual([
      { id: 'u1', role: 'user', text: 'hi', status: 'done', toolCalls: [] },
      { id: 'a1', role: 'assistant', text: '', status: 'streaming', toolCalls: [] },
    ]);
  });

  it.each<[string, ChatLogEvent[], Partial<ChatMessage>]>([
    ['chunks append', [reply(chunk('Hel')), reply(chunk('lo'))], { text: 'Hello', status: 'streaming' }],
    [
      'the complete sets the full text, reason and usage',
      [reply(chunk('Hel')), reply(chunk('', true)), reply(complete('Hello'))],
      {
        text: 'Hello',
        status: 'done',
        finishReason: 'stop',
        usage: { promptTokens: 3, completionTokens: 2, totalTokens: 5 },
      },
    ],
    [
      'a failure keeps the text and records the code',
      [reply(chunk('Hel')), { kind: 'failed', replyId: 'a1', code: 'upstream_error', message: 'boom' }],
      {
        text: 'Hel',
        status: 'failed',
        error: { code: 'upstream_error', message: 'boom' },
      },
    ],
    [
      'an abort keeps the text',
      [reply(chunk('Hel')), { kind: 'aborted', replyId: 'a1' }],
      { text: 'Hel', status: 'aborted' },
    ],
    [
      'nothing changes a reply once it ended',
      [{ kind: 'aborted', replyId: 'a1' }, reply(chunk('late')), reply(complete('late'))],
      { text: '', status: 'aborted' },
    ],
    [
      'a tool call runs, then completes with its result',
      [reply(toolCall('start')), reply(toolCall('complete')), reply(toolResult({ result: 42 }))],
      {
        toolCalls: [{ id: 't1', name: 'calculate', args: { expression: '6*7' }, status: 'complete', result: 42 }],
      },
    ],
    [
      'a failed tool keeps its error',
      [reply(toolCall('start')), reply(toolCall('error')), reply(toolResult({ error: 'division by zero' }))],
      {
        toolCalls: [
          { id: 't1', name: 'calculate', args: { expression: '6*7' }, status: 'error', error: 'division by zero' },
        ],
      },
    ],
    [
      'reasoning grows apart from the text',
      [reply(reasoning('Hm')), reply(chunk('Hi')), reply(reasoning('m.'))],
      { text: 'Hi', reasoning: 'Hmm.' },
    ],
    [
      'a call waits for approval, then runs once approved',
      [reply(toolCall('approval_required'))],
      {
        toolCalls: [{ id: 't1', name: 'calculate', args: { expression: '6*7' }, status: 'approval_required' }],
      },
    ],
    [
      'a denied call stays denied, with the reason, when its result comes',
      [
        reply(toolCall('approval_required')),
        reply(toolCall('denied', 'not now')),
        reply(toolResult({ error: 'the user declined to run calculate: not now' })),
      ],
      {
        toolCalls: [{ id: 't1', name: 'calculate', args: { expression: '6*7' }, status: 'denied', error: 'not now' }],
      },
    ],
    [
      'a client tool runs on the client, then completes',
      [reply(toolCall('client_execute')), reply(toolCall('complete')), reply(toolResult({ result: '12:00' }))],
      {
        toolCalls: [{ id: 't1', name: 'calculate', args: { expression: '6*7' }, status: 'complete', result: '12:00' }],
      },
    ],
    [
      'a result without its call still shows',
      [reply(toolResult({ result: 42 }))],
      {
        toolCalls: [{ id: 't1', name: 'calculate', args: undefined, status: 'complete', result: 42 }],
      },
    ],
  ])('%s', (_name, events, expected) => {
    expect(assistant(run(sent, ...events))).toEqual(expect.objectContaining(expected));
  });

  it('returns the same array when nothing changes, so a replaying stream does not re-render', () => {
    const log = run(sent, reply(complete('done')));
    expect(applyChatEvent(log, reply(chunk('more')))).toBe(log);
    expect(applyChatEvent(log, { kind: 'aborted', replyId: 'unknown' })).toBe(log);
    expect(applyChatEvent(log, reply(chunk('')))).toBe(log);
    const empty: readonly ChatMessage[] = [];
    expect(applyChatEvent(empty, { kind: 'cleared' })).toBe(empty);
  });

  it('clear empties the conversation', () => {
    expect(run(sent, reply(complete('x')), { kind: 'cleared' })).toEqual([]);
  });
});
