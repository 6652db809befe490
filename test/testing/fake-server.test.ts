import * as E from 'fp-ts/Either';
import { TestScheduler } from 'rxjs/testing';
import { WSClient } from '../../src/client/ws-client';
import { decodeServerMessage } from '../../src/protocol/decode';
import { encodeMessage } from '../../src/protocol/encode';
import { serverMessageCodecs, type ServerMessage } from '../../src/protocol/codecs';
import {
  createFakeServer,
  makeChunk,
  makeClosing,
  makeConversations,
  makeConversationUpdated,
  makeComplete,
  makeError,
  makeHistory,
  makeNotification,
  makePong,
  makeReasoning,
  makeReply,
  makeServerMessage,
  makeSession,
  makeStatus,
  makeToolCall,
  makeToolResult,
} from '../../src/testing';

describe('message factories', () => {
  const made: Array<[string, ServerMessage]> = [
    ['session', makeSession('s-1')],
    ['llm_chunk', makeChunk('r1', 'Hel', { seq: 3 })],
    ['llm_reasoning', makeReasoning('r1', 'Let me think', { seq: 2 })],
    ['llm_complete', makeComplete('r1', 'Hello', { usage: { promptTokens: 1, completionTokens: 2, totalTokens: 3 } })],
    ['tool_call', makeToolCall('r1', { toolCallId: 'c1', toolName: 'calculate', args: { expression: '1+1' } })],
    ['tool_result', makeToolResult('r1', { toolCallId: 'c1', toolName: 'calculate', result: 2 })],
    ['status', makeStatus('idle', 'r2')],
    ['history', makeHistory([{ role: 'user', content: 'hi' }], 'r3')],
    ['error', makeError('busy', 'a reply is running', { requestId: 'r4', retryable: true })],
    ['pong', makePong('p1')],
    ['notification', makeNotification('deploy', { version: 2 })],
    ['closing', makeClosing('server stopping', 2000)],
    [
      'conversations',
      makeConversations('r5', [{ id: 's1', title: 'Cats', createdAt: 1, updatedAt: 2, messageCount: 2 }], 'next'),
    ],
    ['conversation_updated', makeConversationUpdated('r6', 's1', 'renamed', 'Dogs')],
  ];

  it('covers every server message type', () => {
    expect(made.map(([type]) => type).sort()).toEqual(Object.keys(serverMessageCodecs).sort());
  });

  it.each(made)('makes a %s message that decodes as the client decodes it', (type, message) => {
    const decoded = decodeServerMessage(encodeMessage(message));
    expect(E.isRight(decoded) && decoded.right).toEqual(message);
    expect(message.type).toBe(type);
  });

  it('makes a whole reply as the server streams it: pieces, the empty isComplete chunk, then llm_complete', () => {
    expect(makeReply('r1', ['Hel', 'lo']).map((m) => [m.type, m.data])).toEqual([
      ['llm_chunk', { chunk: 'Hel', isComplete: false, requestId: 'r1' }],
      ['llm_chunk', { chunk: 'lo', isComplete: false, requestId: 'r1' }],
      ['llm_chunk', { chunk: '', isComplete: true, requestId: 'r1' }],
      ['llm_complete', { fullText: 'Hello', finishReason: 'stop', requestId: 'r1' }],
    ]);
  });

  it('refuses, with the field named, data the client would reject', () => {
    expect(() => makeServerMessage('llm_chunk', { chunk: 42 } as never)).toThrow(
      new TypeError(
        'not a valid llm_chunk message: data.chunk: expected string, got 42; data.isComplete: expected boolean, got nothing',
      ),
    );
  });
});

describe('createFakeServer', () => {
  it('greets every connection with autoAccept and confirms a resume, in virtual time', () => {
    new TestScheduler((actual, expected) => expect(actual).toEqual(expected)).run(({ cold, expectObservable }) => {
      const server = createFakeServer({ autoAccept: true });
      const client = new WSClient({
        url: 'ws://fake/ws',
        WebSocketCtor: server.WebSocketCtor,
        heartbeatInterval: 0,
        reconnectDelay: 10,
        reconnectJitter: 0,
      });
      expectObservable(client.status$).toBe('(ab) 2ms c 9ms d 3ms e', {
        a: 'connecting',
        b: 'connected',
        c: 'reconnecting',
        d: 'connected',
        e: 'disconnected',
      });
      void client.connect();
      cold('------x').subscribe(() => server.latest.fail());
      cold('20ms x').subscribe(() => {
        expect(server.sockets).toHaveLength(2);
        expect(server.latest.resumeRequest?.data).toEqual({
          sessionId: 'session-1',
          resumeToken: 'token-session-1',
          lastSeq: 0,
        });
        expect(client.sessionId).toBe('session-1');
        client.disconnect();
      });
    });
  });

  it('tells what clients sent on received$, with the socket', () => {
    const server = createFakeServer();
    const client = new WSClient({ url: 'ws://fake/ws', WebSocketCtor: server.WebSocketCtor, heartbeatInterval: 0 });
    const seen: string[] = [];
    server.received$.subscribe(({ socket, message }) => seen.push(`${socket === server.latest}:${message.type}`));
    void client.connect();
    server.latest.accept();
    void client.sendMessage('hi');
    expect(seen).toEqual(['true:user_message']);
    client.disconnect();
  });
});
