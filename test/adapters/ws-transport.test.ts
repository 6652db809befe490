import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { WebSocketTransport } from '../../src/adapters/ws-transport';
import { countWrites } from '../utils/count-writes';

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

  const connect = async (): Promise<{ server: WebSocket; socket: Socket; client: WebSocket }> => {
    const accepted = new Promise<[WebSocket, IncomingMessage]>((resolve) =>
      wss.once('connection', (ws: WebSocket, request: IncomingMessage) => resolve([ws, request])),
    );
    client = new WebSocket(`ws://127.0.0.1:${(http.address() as AddressInfo).port}`);
    await new Promise((resolve) => client?.once('open', resolve));
    const [server, request] = await accepted;
    return { server, socket: request.socket, client };
  };

  const receive = (reader: WebSocket, count: number): Promise<string[]> =>
    new Promise((resolve) => {
      const got: string[] = [];
      const onMessage = (data: Buffer): void => {
        got.push(data.toString());
        if (got.length < count) return;
        reader.off('message', onMessage);
        resolve(got);
      };
      reader.on('message', onMessage);
    });

  it('writes the frames of one tick in one write, each still a frame of its own, in order', async () => {
    const { server, socket, client: reader } = await connect();
    const transport = new WebSocketTransport(server, socket);
    const writes = countWrites(socket);
    const frames = Array.from({ length: 50 }, (_, index) => `{"chunk":${index}}`);
    const received = receive(reader, frames.length);
    for (const frame of frames) transport.send(frame);
    expect(writes()).toBe(0); // corked until the tick ends
    expect(await received).toEqual(frames);
    expect(writes()).toBe(1);
  });

  it('offers 64 KiB of corked frames to the network at once, so bufferedAmount says what it did not take', async () => {
    const { server, socket, client: reader } = await connect();
    const transport = new WebSocketTransport(server, socket);
    const writes = countWrites(socket);
    const received = receive(reader, 3);
    transport.send('small');
    expect(writes()).toBe(0);
    transport.send('x'.repeat(64 * 1024));
    expect(writes()).toBe(1); // both frames, now
    transport.send('after');
    expect(writes()).toBe(1); // corked again until the tick ends
    expect((await received).map((frame) => frame.length)).toEqual([5, 64 * 1024, 5]);
    expect(writes()).toBe(2);
  });

  it('sends a frame of a later tick in that tick: no frame waits for another', async () => {
    const { server, socket, client: reader } = await connect();
    const transport = new WebSocketTransport(server, socket);
    const writes = countWrites(socket);
    for (let index = 0; index < 3; index++) {
      const received = receive(reader, 1);
      transport.send(`frame ${index}`);
      expect(await received).toEqual([`frame ${index}`]);
    }
    expect(writes()).toBe(3);
  });

  it('signals drains while listened to: the buffer a stalled reader filled falls once it reads again', async () => {
    const { server, socket, client: reader } = await connect();
    reader.pause();
    const transport = new WebSocketTransport(server, socket);
    const frame = 'x'.repeat(64 * 1024);
    // 16 MiB, more than the socket buffers take, in 16 ticks: 16 writes, each signalled once written.
    for (let tick = 0; tick < 16; tick++) {
      for (let i = 0; i < 16; i++) transport.send(frame);
      await new Promise((resolve) => setImmediate(resolve));
    }
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
    const { server, socket, client: reader } = await connect();
    const transport = new WebSocketTransport(server, socket);
    const closed = new Promise<number>((resolve) => reader.once('close', resolve));
    transport.close(4000, 'bye');
    transport.send('late');
    expect(await closed).toBe(4000);
  });
});
