import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { WebSocketTransport } from '../../src/adapters/ws-transport';

/** The drain signal of the `ws` transport, over a real loopback socket whose reader stops reading. */
describe('WebSocketTransport', () => {
  let http: Server;
  let wss: WebSocketServer;
  let client: WebSocket | undefined;

  beforeEach(async () => {
    http = createServer();
    wss = new WebSocketServer({ server: http });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  });

  afterEach(async () => {
    client?.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    await new Promise<void>((resolve) => http.close(() => resolve()));
  });

  const connect = async (): Promise<{ server: WebSocket; client: WebSocket }> => {
    const accepted = new Promise<WebSocket>((resolve) => wss.once('connection', resolve));
    client = new WebSocket(`ws://127.0.0.1:${(http.address() as AddressInfo).port}`);
    await new Promise((resolve) => client?.once('open', resolve));
    return { server: await accepted, client };
  };

  it('signals drains while listened to: the buffer a stalled reader filled falls once it reads again', async () => {
    const { server, client: reader } = await connect();
    reader.pause();
    const transport = new WebSocketTransport(server);
    const frame = 'x'.repeat(64 * 1024);
    for (let i = 0; i < 256; i++) transport.send(frame); // 16 MiB: more than the socket buffers take
    const filled = transport.bufferedAmount();
    expect(filled).toBeGreaterThan(1024 * 1024);
    const levels: number[] = [];
    const drained = new Promise<void>((resolve) => {
      const stop = transport.onDrain(() => {
        levels.push(transport.bufferedAmount());
        if (transport.bufferedAmount() === 0) {
          stop();
          resolve();
        }
      });
    });
    reader.resume();
    await drained;
    // Signalled as the buffer fell (never rose: nothing more was sent), down to empty.
    expect(levels.length).toBeGreaterThan(1);
    expect(levels).toEqual([...levels].sort((a, b) => b - a));
    expect(levels.some((level) => level > 0 && level < filled)).toBe(true);
    // Stopped listening: the next frames' writes call nobody.
    const after = levels.length;
    transport.send('more');
    await new Promise<void>((resolve) => reader.once('message', () => resolve()));
    expect(levels.length).toBe(after);
  });

  it('sends nothing once the socket is closing', async () => {
    const { server, client: reader } = await connect();
    const transport = new WebSocketTransport(server);
    const closed = new Promise<number>((resolve) => reader.once('close', resolve));
    transport.close(4000, 'bye');
    transport.send('late');
    expect(await closed).toBe(4000);
  });
});
