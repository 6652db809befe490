/**
 * What `WSServer.sendToClient` and `broadcast` accept: exactly what a client decodes, checked with
 * the protocol codecs before anything is sent. Loopback, with the real client.
 */
import * as E from 'fp-ts/Either';
import { firstValueFrom, take, toArray } from 'rxjs';
import { WSClient } from '../../src/client/node';
import { LLMWSError, ProtocolError } from '../../src/errors';
import { decodePushMessage } from '../../src/protocol/decode';
import type { WSServer } from '../../src/server/ws-server';
import { createOpenAITestServer, type OpenAITestServer } from '../../src/testing/node';
import { startServerFor } from '../utils/test-server';

describe('decodePushMessage', () => {
  it.each([
    ['a notification', { type: 'notification', data: { event: 'deploy', payload: { at: 1 } } }],
    ['a seed-shaped llm_chunk (no requestId)', { type: 'llm_chunk', data: { chunk: 'Hello', isComplete: false } }],
    ['an llm_complete of no request', { type: 'llm_complete', data: { fullText: 'Hello', finishReason: 'stop' } }],
    [
      'a tool_call of no request',
      { type: 'tool_call', data: { toolCallId: 't1', toolName: 'x', args: {}, status: 'start' } },
    ],
    ['a tool_result of no request', { type: 'tool_result', data: { toolCallId: 't1', toolName: 'x', result: 1 } }],
    [
      'an error of no request',
      { type: 'error', data: { code: 'internal_error', message: 'maintenance soon', retryable: true } },
    ],
    ['a history', { type: 'history', data: { messages: [{ role: 'assistant', content: 'hi' }] } }],
    ['an llm_chunk of a request', { type: 'llm_chunk', data: { chunk: 'x', isComplete: false, requestId: 'r1' } }],
  ])('accepts %s', (_, message) => {
    const decoded = decodePushMessage(message);
    expect(decoded).toEqual(E.right(message));
  });

  it.each([
    [
      'a status (the server says what the session is doing)',
      { type: 'status', data: { status: 'idle' } },
      'invalid_message',
      /status messages cannot be pushed/,
    ],
    [
      'a session greeting',
      { type: 'session', data: { sessionId: 's', resumeToken: 't' } },
      'invalid_message',
      /session messages cannot be pushed/,
    ],
    ['a pong', { type: 'pong', data: { requestId: 'p' } }, 'invalid_message', /pong messages cannot be pushed/],
    [
      'a closing',
      { type: 'closing', data: { reason: 'x', retryAfterMs: 1 } },
      'invalid_message',
      /closing messages cannot be pushed/,
    ],
    [
      'an unknown type',
      { type: 'chat', data: {} },
      'unknown_type',
      /unknown message type "chat"; expected one of notification/,
    ],
    ['no type', { data: {} }, 'invalid_message', /type: expected string, got nothing/],
    ['not an object', 'hello', 'invalid_message', /expected an object with type/],
    [
      'an llm_chunk without its text',
      { type: 'llm_chunk', data: { isComplete: false } },
      'invalid_message',
      /data\.chunk: expected string, got nothing/,
    ],
    [
      'an error with a code clients do not know',
      { type: 'error', data: { code: 'oops', message: 'x', retryable: false } },
      'invalid_message',
      /data\.code/,
    ],
    [
      'a payload JSON cannot carry',
      { type: 'notification', data: { event: 'x', payload: { n: BigInt(1) } } },
      'invalid_message',
      /data is not JSON/,
    ],
  ])('refuses %s', (_, message, code, text) => {
    const decoded = decodePushMessage(message);
    expect(E.isLeft(decoded)).toBe(true);
    const error = (decoded as E.Left<ProtocolError>).left;
    expect(error).toBeInstanceOf(ProtocolError);
    expect(error.code).toBe(code);
    expect(error.message).toMatch(text);
  });

  it("drops fields the protocol does not have (an id or seq of the caller's: the server numbers the stream)", () => {
    expect(decodePushMessage({ type: 'notification', id: 'mine', seq: 9, data: { event: 'x', extra: 1 } })).toEqual(
      E.right({ type: 'notification', data: { event: 'x' } }),
    );
  });
});

describe('sendToClient and broadcast over loopback', () => {
  let upstream: OpenAITestServer;
  let server: WSServer;
  const clients: WSClient[] = [];

  beforeEach(async () => {
    upstream = await createOpenAITestServer();
    server = await startServerFor(upstream);
  });
  afterEach(async () => {
    for (const client of clients.splice(0)) client.disconnect();
    await server.stop();
    await upstream.close();
  });

  async function connect(): Promise<{ client: WSClient; sessionId: string }> {
    const client = new WSClient({ url: server.url as string });
    clients.push(client);
    const connected = new Promise<string>((resolve) => client.onConnected(({ sessionId }) => resolve(sessionId)));
    await client.connect();
    return { client, sessionId: await connected };
  }

  it('delivers a seed-shaped llm_chunk push without a requestId, and the client reports no error', async () => {
    const { client, sessionId } = await connect();
    const errors: LLMWSError[] = [];
    client.errors$.subscribe((error) => errors.push(error));
    const chunks = firstValueFrom(client.chunks$.pipe(take(2), toArray()));
    expect(
      await server.sendToClient(sessionId, { type: 'llm_chunk', data: { chunk: 'Server says hi', isComplete: false } }),
    ).toBe(true);
    expect(await server.sendToClient(sessionId, { type: 'llm_chunk', data: { chunk: '', isComplete: true } })).toBe(
      true,
    );
    expect(await chunks).toEqual([
      { chunk: 'Server says hi', isComplete: false },
      { chunk: '', isComplete: true },
    ]);
    // A reply still works after the pushes, and nothing was reported as invalid.
    upstream.enqueue({ type: 'text', chunks: ['ok'] });
    expect(await client.sendMessage('hi')).toMatchObject({ fullText: 'ok' });
    expect(errors).toEqual([]);
  });

  it('refuses what a client would reject with a ProtocolError, and sends nothing', async () => {
    const { client, sessionId } = await connect();
    const received: string[] = [];
    client.messages$.subscribe((message) => received.push(message.type));
    await expect(
      server.sendToClient(sessionId, { type: 'status', data: { status: 'paused' } } as never),
    ).rejects.toMatchObject({
      name: 'ProtocolError',
      code: 'invalid_message',
    });
    await expect(server.sendToClient(sessionId, { type: 'llm_chunk', data: { text: 'x' } } as never)).rejects.toThrow(
      'data.chunk: expected string, got nothing',
    );
    await expect(server.broadcast({ type: 'notification', data: { event: 42 } } as never)).rejects.toThrow(
      ProtocolError,
    );
    await expect(server.broadcast({ type: 'notice', data: {} } as never)).rejects.toMatchObject({
      code: 'unknown_type',
    });
    // Only the valid push after them arrives.
    const notification = firstValueFrom(client.messages$);
    expect(await server.broadcast({ type: 'notification', data: { event: 'after' } })).toBe(1);
    expect(await notification).toMatchObject({ type: 'notification', data: { event: 'after' } });
    expect(received).toEqual(['notification']);
  });
});
