import fc from 'fast-check';
import { filter, firstValueFrom } from 'rxjs';
import WebSocket from 'ws';
import { WSClient } from '../../src/client/node';
import { offlineProvider } from '../../src/llm/offline-provider';
import type { WSServerOptions } from '../../src/server/options';
import { WSServer } from '../../src/server/ws-server';
import { startServerFor } from '../utils/test-server';
import { createOpenAITestServer, type OpenAITestServer } from '../../src/testing/node';
import { steadyBlock } from '../utils/steady-block';
import { connectThroughProxy as connectClientThroughProxy } from '../utils/proxied-client';
import type { TcpProxy } from '../utils/tcp-proxy';
import { connectTestClient, type TestClient, userMessage } from '../utils/ws-test-client';

/**
 * What must survive a bad network, over real sockets: connections cut mid-reply, a reader that
 * stalls, a flood of messages, a thousand sessions at once. Each test states what must hold.
 */
let upstream: OpenAITestServer;
let server: WSServer;
let proxy: TcpProxy | undefined;
let client: WSClient | undefined;

async function startServer(options: WSServerOptions = {}): Promise<WSServer> {
  server = await startServerFor(upstream, options);
  return server;
}

/** A client that reaches the server through the proxy, reconnecting fast. */
async function connectThroughProxy(): Promise<WSClient> {
  ({ client, proxy } = await connectClientThroughProxy(server.port as number));
  return client;
}

const numbered = (count: number): string[] => Array.from({ length: count }, (_, i) => `c${i} `);

beforeEach(async () => {
  upstream = await createOpenAITestServer();
});
afterEach(async () => {
  client?.disconnect();
  client = undefined;
  await proxy?.close();
  proxy = undefined;
  await server?.stop();
  await upstream.close();
});

describe('faults over loopback', () => {
  it('delivers all 400 chunks of a reply exactly once across two cuts, from one upstream request', async () => {
    await startServer();
    const chunks = numbered(400);
    upstream.enqueue({ type: 'text', chunks, delayMs: 3 });
    const c = await connectThroughProxy();
    const received: string[] = [];
    c.chunks$.subscribe(({ chunk }) => chunk && received.push(chunk));
    const cuts = c.chunks$.subscribe(() => {
      if (received.length === 100 || received.length === 250) (proxy as TcpProxy).cutAll();
    });
    const reply = await c.sendMessage('count to 400');
    cuts.unsubscribe();
    expect(reply.fullText).toBe(chunks.join(''));
    expect(received).toEqual(chunks);
    expect(upstream.requests).toHaveLength(1);
    expect(proxy?.connections).toBe(3);
    expect(c.getStats().reconnects).toBeGreaterThanOrEqual(2);
  });

  it('gives the upstream text exactly once for any set of cut points', async () => {
    await startServer();
    const chunks = numbered(120);
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(fc.integer({ min: 1, max: 119 }), { maxLength: 3 }), async (cutPoints) => {
        upstream.enqueue({ type: 'text', chunks, delayMs: 2 });
        const c = await connectThroughProxy();
        const received: string[] = [];
        const watch = c.chunks$.subscribe(({ chunk }) => {
          if (!chunk) return;
          received.push(chunk);
          if (cutPoints.includes(received.length)) (proxy as TcpProxy).cutAll();
        });
        const reply = await c.sendMessage('count');
        watch.unsubscribe();
        expect(reply.fullText).toBe(chunks.join(''));
        expect(received).toEqual(chunks);
        c.disconnect();
        await proxy?.close();
        proxy = undefined;
      }),
      { numRuns: 6 },
    );
    expect(upstream.requests).toHaveLength(6);
  });

  it('holds the model stream back while a reader stalls, then delivers everything once it reads again', async () => {
    // 20 MB of text: past the default maxReplyTextBytes (4 MiB).
    await startServer({ highWaterMarkBytes: 64 * 1024, maxReplyTextBytes: 32 * 1024 * 1024 });
    // 20 MB: more than the socket buffers on the way took in any run (8 to 11 MB).
    const chunks = numbered(20_000).map((chunk) => chunk + 'x'.repeat(1000));
    upstream.enqueue({ type: 'text', chunks });
    const c = await connectThroughProxy();
    const received: string[] = [];
    c.chunks$.subscribe(({ chunk }) => chunk && received.push(chunk));
    // Stalled before the reply, not at its first chunk: the upstream writes in this process's event
    // loop and the proxy's receive buffer grows while it reads fast, so a late stall lets most of
    // the stream into the buffers on the way (the Bun adapter's test measured it, bench/NOTES.md).
    proxy?.stallServerToClient(true);
    const reply = c.sendMessage('a lot');
    const request = await upstream.request(0);
    let completedWhileStalled = false;
    void request.ended.then(() => (completedWhileStalled = true));
    // Socket buffers fill first, the upstream blocking and draining on the way. It has stopped for
    // good once a block outlasts QUIET_MS: a busy machine only makes that come sooner. Were the
    // model stream not held back, the upstream would write to the end instead.
    const sentWhileStalled = await steadyBlock(request, chunks.length);
    expect(sentWhileStalled).toBeLessThan(chunks.length);
    expect(request.blocked).toBe(true);
    expect(received).toEqual([]);
    proxy?.stallServerToClient(false);
    // The block ends only now that the client reads again: nothing was read from the model meanwhile.
    expect(await request.whenDrained()).toBe(sentWhileStalled);
    expect(completedWhileStalled).toBe(false);
    proxy?.stallServerToClient(false);
    expect((await reply).fullText).toBe(chunks.join(''));
    expect(received.join('')).toBe(chunks.join('')); // coalesced under pressure, but every character once
  }, 60_000);

  it('answers a flood with rate_limited and keeps serving everyone else', async () => {
    await startServer({ llm: offlineProvider({ chunkDelayMs: 0 }), rateLimit: { ratePerSecond: 10, burst: 20 } });
    const flooder: TestClient = await connectTestClient(server.url as string);
    const neighbour = new WSClient({ url: server.url as string });
    client = neighbour;
    await neighbour.connect();
    for (let i = 0; i < 1000; i++) flooder.send({ type: 'control', id: `f${i}`, data: { type: 'get_status' } });
    await flooder.waitFor('error', (m) => m.data.requestId === 'f999');
    const limited = flooder.received.filter((m) => m.type === 'error' && m.data.code === 'rate_limited');
    expect(limited.length).toBeGreaterThanOrEqual(975);
    expect(limited.every((m) => m.type === 'error' && m.data.retryable)).toBe(true);
    await expect(neighbour.sendMessage('what is 2+2?')).resolves.toMatchObject({ fullText: '2+2 = 4' });
    await flooder.close();
  });

  it('serves 1,000 concurrent sessions, each its own reply', async () => {
    await startServer({ llm: offlineProvider({ chunkDelayMs: 0 }), maxConnections: 1000, heartbeatInterval: 0 });
    const sockets = await Promise.all(
      Array.from(
        { length: 1000 },
        () =>
          new Promise<WebSocket>((resolve, reject) => {
            const socket = new WebSocket(server.url as string);
            socket.once('open', () => resolve(socket));
            socket.once('error', reject);
          }),
      ),
    );
    try {
      expect(server.getConnectionCount()).toBe(1000);
      const answers = await Promise.all(
        sockets.map(
          (socket, i) =>
            new Promise<string>((resolve) => {
              socket.on('message', (data) => {
                const message = JSON.parse(data.toString());
                if (message.type === 'llm_complete' && message.data.requestId === `q${i}`)
                  resolve(message.data.fullText);
              });
              socket.send(JSON.stringify(userMessage(`q${i}`, `what is ${i}+1?`)));
            }),
        ),
      );
      expect(answers).toEqual(sockets.map((_, i) => `${i}+1 = ${i + 1}`));
      expect(server.getActiveSessions()).toHaveLength(1000);
    } finally {
      await Promise.all(
        sockets.map(
          (socket) =>
            new Promise<void>((resolve) =>
              socket.readyState === WebSocket.CLOSED
                ? resolve()
                : (socket.once('close', () => resolve()), socket.close()),
            ),
        ),
      );
    }
  }, 60_000);

  it('lets a client resume on a new connection after the network moves it, with nothing lost', async () => {
    await startServer();
    upstream.enqueue({ type: 'text', chunks: numbered(50), delayMs: 5 });
    const c = await connectThroughProxy();
    const session = c.sessionId;
    const reply = c.sendMessage('fifty');
    await firstValueFrom(c.chunks$.pipe(filter(({ chunk }) => chunk === 'c10 ')));
    proxy?.cutAll();
    expect((await reply).fullText).toBe(numbered(50).join(''));
    expect(c.sessionId).toBe(session);
    const resumed = server.getActiveSessions();
    expect(resumed).toEqual([expect.objectContaining({ sessionId: session, connected: true })]);
  });
});
