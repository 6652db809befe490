/**
 * The reply-to-chunks mapping of the AI SDK endpoint, from plain tables: llm-ws reply messages in,
 * the `UIMessageChunk`s they make out. (The loopback tests run the same through the real `Chat`.)
 */
import type { ServerMessage } from '../../../src/protocol/codecs';
import { ReplyChunker } from '../../../src/adapters/ai-sdk/reply-chunks';
import type { UIMessageChunk } from '../../../src/adapters/ai-sdk/codecs';

const R = 'r1';
const chunk = (text: string, isComplete = false): ServerMessage => ({
  type: 'llm_chunk',
  id: 'x',
  data: { chunk: text, isComplete, requestId: R },
});
const reasoning = (text: string): ServerMessage => ({
  type: 'llm_reasoning',
  id: 'x',
  data: { chunk: text, requestId: R },
});
const toolCall = (status: 'start' | 'approval_required' | 'denied' | 'complete', reason?: string): ServerMessage => ({
  type: 'tool_call',
  id: 'x',
  data: {
    toolCallId: 'c1',
    toolName: 'mail',
    args: { to: 'ann' },
    status,
    requestId: R,
    ...(reason ? { reason } : {}),
  },
});
const result = (value: unknown, error?: string): ServerMessage => ({
  type: 'tool_result',
  id: 'x',
  data: { toolCallId: 'c1', toolName: 'mail', requestId: R, ...(error ? { error } : { result: value }) },
});
const complete: ServerMessage = {
  type: 'llm_complete',
  id: 'x',
  data: { fullText: '', finishReason: 'stop', requestId: R },
};

const input: UIMessageChunk = {
  type: 'tool-input-available',
  toolCallId: 'c1',
  toolName: 'mail',
  input: { to: 'ann' },
  dynamic: true,
};

it.each<[string, ServerMessage[], UIMessageChunk[]]>([
  [
    'text in one step',
    [chunk('a'), chunk('b'), chunk('', true), complete],
    [
      { type: 'start-step' },
      { type: 'text-start', id: 'text-0' },
      { type: 'text-delta', id: 'text-0', delta: 'a' },
      { type: 'text-delta', id: 'text-0', delta: 'b' },
      { type: 'text-end', id: 'text-0' },
      { type: 'finish-step' },
    ],
  ],
  [
    'reasoning, then text: the reasoning part closes first',
    [reasoning('hm'), chunk('ok'), complete],
    [
      { type: 'start-step' },
      { type: 'reasoning-start', id: 'reasoning-0' },
      { type: 'reasoning-delta', id: 'reasoning-0', delta: 'hm' },
      { type: 'reasoning-end', id: 'reasoning-0' },
      { type: 'text-start', id: 'text-1' },
      { type: 'text-delta', id: 'text-1', delta: 'ok' },
      { type: 'text-end', id: 'text-1' },
      { type: 'finish-step' },
    ],
  ],
  [
    'a server tool: its result, then the next model call in a step of its own',
    [toolCall('start'), toolCall('complete'), result({ sent: true }), chunk('done'), complete],
    [
      { type: 'start-step' },
      input,
      { type: 'tool-output-available', toolCallId: 'c1', output: { sent: true }, dynamic: true },
      { type: 'finish-step' },
      { type: 'start-step' },
      { type: 'text-start', id: 'text-0' },
      { type: 'text-delta', id: 'text-0', delta: 'done' },
      { type: 'text-end', id: 'text-0' },
      { type: 'finish-step' },
    ],
  ],
  [
    'an approval asked and given',
    [toolCall('approval_required'), toolCall('start'), result(1)],
    [
      { type: 'start-step' },
      input,
      { type: 'tool-approval-request', approvalId: 'c1', toolCallId: 'c1' },
      { type: 'tool-approval-response', approvalId: 'c1', approved: true },
      { type: 'tool-output-available', toolCallId: 'c1', output: 1, dynamic: true },
    ],
  ],
  [
    'an approval denied, with the reason',
    [toolCall('approval_required'), toolCall('denied', 'no')],
    [
      { type: 'start-step' },
      input,
      { type: 'tool-approval-request', approvalId: 'c1', toolCallId: 'c1' },
      { type: 'tool-approval-response', approvalId: 'c1', approved: false, reason: 'no' },
      { type: 'tool-output-denied', toolCallId: 'c1' },
    ],
  ],
  [
    'a failed tool',
    [toolCall('start'), result(undefined, 'boom')],
    [{ type: 'start-step' }, input, { type: 'tool-output-error', toolCallId: 'c1', errorText: 'boom', dynamic: true }],
  ],
])('%s', (_, messages, expected) => {
  const chunker = new ReplyChunker();
  expect(messages.flatMap((message) => chunker.push(message))).toEqual(expected);
});

it('makes the same chunks from the same messages (a replay numbers them as the live stream did)', () => {
  const messages = [
    reasoning('x'),
    chunk('a'),
    toolCall('approval_required'),
    toolCall('start'),
    result(2),
    chunk('b'),
    complete,
  ];
  const once = new ReplyChunker();
  const twice = new ReplyChunker();
  expect(messages.flatMap((m) => once.push(m))).toEqual(messages.flatMap((m) => twice.push(m)));
  expect(once.awaiting.size).toBe(0);
});
