/**
 * The lean client as the README's browser app uses it, on Node's own WebSocket (the global one, as
 * in a browser) against a real server: connect, send, stream one reply, resume after a drop.
 */
import { WebSocket as WsWebSocket } from 'ws';
import { ReactiveClient, type ReactiveClientOptions, type WebSocketConstructor } from '../../src/client';
import type { WSServer } from '../../src/server/ws-server';
import { createOpenAITestServer, type OpenAITestServer } from '../../src/testing/node';
import { startServerFor } from '../utils/test-server';

let upstream: OpenAITestServer;
let server: WSServer;
let client: ReactiveClient | undefined;

beforeEach(async () => {
  upstream = await createOpenAITestServer();
  server = await startServerFor(upstream);
});
afterEach(async () => {
  client?.disconnect();
  client = undefined;
  await server.stop();
  await upstream.close();
});

describe('ReactiveClient over loopback', () => {
  it('connects, sends and streams one reply, each chunk once, in order', async () => {
    client = new ReactiveClient({ url: server.url as string });
    const chunks: string[] = [];
    client.chunks$.subscribe(({ chunk }) => chunk && chunks.push(chunk));
    await client.connect();
    upstream.enqueue({ type: 'text', chunks: ['Hello ', 'from ', 'the lean client'] });
    const reply = await client.sendMessage('Hello!');
    expect(reply.fullText).toBe('Hello from the lean client');
    expect(chunks).toEqual(['Hello ', 'from ', 'the lean client']);
    expect(client.getStats().lastRoundTripMs).not.toBeNull();
  });

  it('resumes its session after the connection drops, with the reply whole', async () => {
    const sockets: WsWebSocket[] = [];
    // The `ws` WebSocket, kept to cut the connection from outside as a network would.
    class Tracked extends WsWebSocket {
      constructor(url: string, protocols?: string | string[]) {
        super(url, protocols);
        sockets.push(this);
      }
    }
    client = new ReactiveClient({
      url: server.url as string,
      WebSocketCtor: Tracked as unknown as WebSocketConstructor,
      reconnectDelay: 10,
    });
    await client.connect();
    const sessionId = client.sessionId;
    upstream.enqueue({ type: 'text', chunks: Array.from({ length: 50 }, (_, i) => `c${i} `), delayMs: 2 });
    const chunks: string[] = [];
    const reply = client.sendMessage('count');
    await new Promise<void>((resolve) =>
      client?.chunks$.subscribe(({ chunk }) => {
        if (chunk) chunks.push(chunk);
        if (chunks.length === 10) {
          sockets[0]?.terminate();
          resolve();
        }
      }),
    );
    const expected = Array.from({ length: 50 }, (_, i) => `c${i} `).join('');
    expect((await reply).fullText).toBe(expected);
    expect(chunks.join('')).toBe(expected);
    expect(client.sessionId).toBe(sessionId);
    expect(sockets).toHaveLength(2);
  });

  it('takes none of the options only WSClient acts on (a type error, not a silent no-op)', () => {
    const options: ReactiveClientOptions = { url: 'ws://127.0.0.1:1/ws' };
    // @ts-expect-error tools are WSClient's (with humanInTheLoop)
    const withTools: ReactiveClientOptions = { ...options, tools: [] };
    // @ts-expect-error humanInTheLoop is WSClient's
    const withApprovals: ReactiveClientOptions = { ...options, humanInTheLoop: undefined };
    expect([withTools, withApprovals]).toHaveLength(2);
  });
});
