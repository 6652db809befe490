import * as E from 'fp-ts/Either';
import fc from 'fast-check';
import {
  decodeClientMessage,
  decodeServerMessage,
  encodeMessage,
  type ClientMessage,
  type ServerMessage,
} from '../../src/protocol';

const frame = (value: unknown): string => JSON.stringify(value);

describe('decodeClientMessage', () => {
  it.each<[string, unknown, ClientMessage]>([
    [
      'a user_message',
      { type: 'user_message', id: 'm1', data: { text: 'hi' } },
      { type: 'user_message', id: 'm1', data: { text: 'hi' } },
    ],
    [
      'a user_message with every option',
      {
        type: 'user_message',
        id: 'm1',
        data: { text: 'hi', options: { temperature: 0.7, maxTokens: 100, tools: ['calculate'] } },
      },
      {
        type: 'user_message',
        id: 'm1',
        data: { text: 'hi', options: { temperature: 0.7, maxTokens: 100, tools: ['calculate'] } },
      },
    ],
    [
      'temperature at its bounds',
      { type: 'user_message', id: 'm', data: { text: '', options: { temperature: 2 } } },
      { type: 'user_message', id: 'm', data: { text: '', options: { temperature: 2 } } },
    ],
    [
      'a control',
      { type: 'control', id: 'c', data: { type: 'abort', requestId: 'm1' } },
      { type: 'control', id: 'c', data: { type: 'abort', requestId: 'm1' } },
    ],
    ['a ping without data', { type: 'ping', id: 'p' }, { type: 'ping', id: 'p' }],
    [
      'a user_message with client tools',
      {
        type: 'user_message',
        id: 'm',
        data: {
          text: 'x',
          clientTools: [{ name: 'get_browser_time', description: 'The time', parameters: { type: 'object' } }],
        },
      },
      {
        type: 'user_message',
        id: 'm',
        data: {
          text: 'x',
          clientTools: [{ name: 'get_browser_time', description: 'The time', parameters: { type: 'object' } }],
        },
      },
    ],
    [
      'a tool_approval with a reason',
      { type: 'tool_approval', id: 'a', data: { toolCallId: 'call_1', approved: false, reason: 'not today' } },
      { type: 'tool_approval', id: 'a', data: { toolCallId: 'call_1', approved: false, reason: 'not today' } },
    ],
    [
      'a tool_result with a result',
      { type: 'tool_result', id: 'r', data: { toolCallId: 'c', result: { at: 1 } } },
      { type: 'tool_result', id: 'r', data: { toolCallId: 'c', result: { at: 1 } } },
    ],
    [
      'a tool_result with an error',
      { type: 'tool_result', id: 'r', data: { toolCallId: 'c', error: 'no GPS' } },
      { type: 'tool_result', id: 'r', data: { toolCallId: 'c', error: 'no GPS' } },
    ],
    [
      'a resume that shares the session',
      { type: 'resume', id: 'r', data: { sessionId: 's', resumeToken: 't', lastSeq: 3, share: true } },
      { type: 'resume', id: 'r', data: { sessionId: 's', resumeToken: 't', lastSeq: 3, share: true } },
    ],
    [
      'unknown keys, dropped at every level',
      {
        type: 'user_message',
        id: 'm',
        extra: 1,
        data: { text: 'x', admin: true, options: { temperature: 1, evil: 'yes' } },
      },
      { type: 'user_message', id: 'm', data: { text: 'x', options: { temperature: 1 } } },
    ],
  ])('accepts %s', (_name, input, expected) => {
    expect(decodeClientMessage(frame(input))).toEqual(E.right(expected));
  });

  it.each<[string, string | Uint8Array, string, string | RegExp, string | undefined]>([
    ['not JSON', 'hello', 'invalid_json', /not valid JSON/, undefined],
    ['invalid UTF-8 bytes', new Uint8Array([0x7b, 0xff, 0x7d]), 'invalid_json', 'frame is not valid UTF-8', undefined],
    ['a JSON array', '[1,2]', 'invalid_message', /expected an object with type, id and data, got \[1,2\]/, undefined],
    ['JSON null', 'null', 'invalid_message', /got null/, undefined],
    ['a missing type', frame({ id: 'x', data: {} }), 'invalid_message', 'type: expected string, got nothing', 'x'],
    [
      'an unknown type',
      frame({ type: 'shutdown', id: 'x' }),
      'unknown_type',
      /unknown message type "shutdown"; expected one of user_message, control, ping/,
      'x',
    ],
    [
      'a type named like an Object member',
      frame({ type: 'constructor', id: 'x' }),
      'unknown_type',
      /"constructor"/,
      'x',
    ],
    ['a type of __proto__', '{"type":"__proto__","id":"x"}', 'unknown_type', /"__proto__"/, 'x'],
    [
      'text that is a number',
      frame({ type: 'user_message', id: 'm', data: { text: 42 } }),
      'invalid_message',
      'data.text: expected string, got 42',
      'm',
    ],
    [
      'a missing text',
      frame({ type: 'user_message', id: 'm', data: {} }),
      'invalid_message',
      'data.text: expected string, got nothing',
      'm',
    ],
    [
      'a missing id',
      frame({ type: 'user_message', data: { text: 'x' } }),
      'invalid_message',
      /^id: expected a non-empty string of at most 128 characters, got nothing$/,
      undefined,
    ],
    ['an empty id', frame({ type: 'ping', id: '' }), 'invalid_message', /^id: expected a non-empty string/, undefined],
    ['an id too long', frame({ type: 'ping', id: 'x'.repeat(129) }), 'invalid_message', /^id: expected/, undefined],
    [
      'temperature above 2',
      frame({ type: 'user_message', id: 'm', data: { text: 'x', options: { temperature: 2.5 } } }),
      'invalid_message',
      'data.options.temperature: expected a number from 0 to 2, got 2.5',
      'm',
    ],
    [
      'maxTokens not whole',
      frame({ type: 'user_message', id: 'm', data: { text: 'x', options: { maxTokens: 0 } } }),
      'invalid_message',
      'data.options.maxTokens: expected a whole number greater than 0, got 0',
      'm',
    ],
    [
      'a tool name that is not a string',
      frame({ type: 'user_message', id: 'm', data: { text: 'x', options: { tools: ['a', 3] } } }),
      'invalid_message',
      'data.options.tools[1]: expected string, got 3',
      'm',
    ],
    [
      'a client tool with a name the API refuses',
      frame({
        type: 'user_message',
        id: 'm',
        data: { text: 'x', clientTools: [{ name: 'get time', description: '', parameters: {} }] },
      }),
      'invalid_message',
      'data.clientTools[0].name: expected a tool name of 1 to 64 letters, digits, _ or -, got "get time"',
      'm',
    ],
    [
      'more client tools than allowed (about client tools, in a line: no dump of the array)',
      frame({
        type: 'user_message',
        id: 'm',
        data: {
          text: 'x',
          clientTools: Array.from({ length: 33 }, (_, i) => ({ name: `t${i}`, description: '', parameters: {} })),
        },
      }),
      'invalid_client_tools',
      'data.clientTools: at most 32 client tools, got 33',
      'm',
    ],
    [
      'a client tool schema over its size bound',
      frame({
        type: 'user_message',
        id: 'm',
        data: {
          text: 'x',
          clientTools: [{ name: 't', description: '', parameters: { description: 'é'.repeat(9000) } }],
        },
      }),
      'invalid_message',
      /^data.clientTools\[0\].parameters: expected a JSON Schema object of at most 16384 bytes, got /,
      'm',
    ],
    [
      'a tool_approval without its answer',
      frame({ type: 'tool_approval', id: 'a', data: { toolCallId: 'c' } }),
      'invalid_message',
      'data.approved: expected boolean, got nothing',
      'a',
    ],
    [
      'an unknown control',
      frame({ type: 'control', id: 'c', data: { type: 'reboot' } }),
      'invalid_message',
      /^data.type: expected "abort" \| "pause"/,
      'c',
    ],
    [
      'a resume with a negative lastSeq',
      frame({ type: 'resume', id: 'r', data: { sessionId: 's', resumeToken: 't', lastSeq: -5 } }),
      'invalid_message',
      'data.lastSeq: expected a whole number of 0 or more, at most 2^53 - 1, got -5',
      'r',
    ],
    [
      'a resume with a lastSeq that is not whole',
      frame({ type: 'resume', id: 'r', data: { sessionId: 's', resumeToken: 't', lastSeq: 1.5 } }),
      'invalid_message',
      'data.lastSeq: expected a whole number of 0 or more, at most 2^53 - 1, got 1.5',
      'r',
    ],
    [
      'a ping acknowledging a negative seq',
      frame({ type: 'ping', id: 'p', data: { lastSeq: -1 } }),
      'invalid_message',
      /^data.lastSeq: expected a whole number of 0 or more/,
      'p',
    ],
    [
      'a title with a control character',
      frame({ type: 'rename_conversation', id: 'r', data: { conversationId: 'c', title: 'a\u0000b' } }),
      'invalid_message',
      /^data.title: expected a title of 1 to 200 characters, not all spaces, without control characters, got /,
      'r',
    ],
    [
      'a title of 201 characters',
      frame({ type: 'rename_conversation', id: 'r', data: { conversationId: 'c', title: '😀'.repeat(201) } }),
      'invalid_message',
      /^data.title: expected a title of 1 to 200 characters/,
      'r',
    ],
    [
      'a page of 101',
      frame({ type: 'list_conversations', id: 'l', data: { limit: 101 } }),
      'invalid_message',
      /^data.limit: expected a page size: a whole number from 1 to 100, got 101/,
      'l',
    ],
    // JSON.parse takes any depth; describing the value must not recurse into it.
    [
      '100,000 nested arrays',
      '['.repeat(100_000) + ']'.repeat(100_000),
      'invalid_message',
      /expected an object with type, id and data, got \[\[\[\[.*\.\.\.$/,
      undefined,
    ],
    [
      'a text of 100,000 nested objects',
      `{"type":"user_message","id":"m","data":{"text":${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}}}`,
      'invalid_message',
      /^data.text: expected string, got \{"a":\{"a":.*\.\.\.$/,
      'm',
    ],
  ])('refuses %s', (_name, input, code, message, requestId) => {
    const result = decodeClientMessage(input);
    if (E.isRight(result)) throw new Error(`decoded ${JSON.stringify(result.right)}`);
    expect(result.left.code).toBe(code);
    expect(result.left.message).toMatch(message);
    expect(result.left.requestId).toBe(requestId);
  });

  it('counts a title in characters: 200 emoji are a title', () => {
    const title = '😀'.repeat(200);
    expect(
      decodeClientMessage(frame({ type: 'rename_conversation', id: 'r', data: { conversationId: 'c', title } })),
    ).toEqual(E.right({ type: 'rename_conversation', id: 'r', data: { conversationId: 'c', title } }));
  });

  it('accepts the UTF-8 bytes of a frame', () => {
    const bytes = new TextEncoder().encode(frame({ type: 'ping', id: 'é' }));
    expect(decodeClientMessage(bytes)).toEqual(E.right({ type: 'ping', id: 'é' }));
  });

  it('never lets __proto__ reach a decoded object', () => {
    const raw =
      '{"type":"control","id":"c","__proto__":{"polluted":1},"data":{"type":"abort","__proto__":{"polluted":2}}}';
    const result = decodeClientMessage(raw);
    expect(E.isRight(result)).toBe(true);
    const message = (result as E.Right<ClientMessage>).right;
    expect(Object.keys(message)).toEqual(['type', 'id', 'data']);
    expect(Object.prototype.hasOwnProperty.call(message, '__proto__')).toBe(false);
    expect(Object.prototype.hasOwnProperty.call(message.data, '__proto__')).toBe(false);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('never throws, whatever the frame', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json(), fc.uint8Array()), (raw) => {
        const result = decodeClientMessage(raw);
        if (E.isLeft(result)) expect(typeof result.left.message).toBe('string');
      }),
      { numRuns: 500 },
    );
  });
});

describe('decodeServerMessage', () => {
  const messages: ServerMessage[] = [
    { type: 'session', id: '1', data: { sessionId: 's', resumeToken: 't' } },
    {
      type: 'session',
      id: '1b',
      data: { sessionId: 's', resumeToken: 't', resumed: true, requestId: 'r', lastSeq: 9 },
    },
    { type: 'closing', id: '11', data: { reason: 'server stopping', retryAfterMs: 1000 } },
    { type: 'llm_chunk', id: '2', seq: 7, data: { chunk: 'He', isComplete: false, requestId: 'r' } },
    {
      type: 'llm_complete',
      id: '3',
      data: {
        fullText: 'Hello',
        requestId: 'r',
        finishReason: 'aborted',
        usage: { promptTokens: 1, completionTokens: 2, totalTokens: 3 },
      },
    },
    {
      type: 'tool_call',
      id: '4',
      data: { toolCallId: 't', toolName: 'calculate', args: { expression: '1+1' }, status: 'start', requestId: 'r' },
    },
    {
      type: 'tool_call',
      id: '4b',
      data: {
        toolCallId: 't',
        toolName: 'send_mail',
        args: {},
        status: 'approval_required',
        requestId: 'r',
        timeoutMs: 60000,
      },
    },
    {
      type: 'tool_call',
      id: '4c',
      data: { toolCallId: 't', toolName: 'send_mail', args: {}, status: 'denied', requestId: 'r', reason: 'no' },
    },
    { type: 'llm_reasoning', id: '4d', seq: 3, data: { chunk: 'Let me think', requestId: 'r' } },
    { type: 'tool_result', id: '5', data: { toolCallId: 't', toolName: 'calculate', requestId: 'r', error: 'boom' } },
    { type: 'status', id: '6', data: { status: 'calling_tool' } },
    {
      type: 'history',
      id: '7',
      data: {
        messages: [{ role: 'assistant', content: '', toolCalls: [{ id: 't', name: 'n', arguments: '{}' }] }],
        requestId: 'c',
      },
    },
    { type: 'error', id: '8', data: { code: 'busy', message: 'wait', retryable: true, requestId: 'r' } },
    { type: 'pong', id: '9', data: { requestId: 'p' } },
    { type: 'notification', id: '10', data: { event: 'maintenance', payload: { at: 1 } } },
  ];

  it.each(messages.map((message) => [message.type, message] as const))(
    'round-trips %s through encodeMessage',
    (_type, message) => {
      expect(decodeServerMessage(encodeMessage(message))).toEqual(E.right(message));
    },
  );

  it('refuses an error code outside the documented set', () => {
    const result = decodeServerMessage(
      frame({ type: 'error', id: '1', data: { code: 'oops', message: '', retryable: false } }),
    );
    expect(E.isLeft(result) && result.left.message).toMatch(/^data.code: expected "invalid_json"/);
  });
});
