import { BunTransport, type BunConnectionData, type BunWebSocket } from '../../src/adapters/bun';

/** A Bun `ServerWebSocket` that records what leaves it: each `cork` is one write to the network. */
function fakeBunSocket(): BunWebSocket & { writes: string[][]; closedWith?: [number, string]; bufferedBytes: number } {
  let corking: string[] | undefined;
  const socket = {
    data: { principal: undefined } as BunConnectionData,
    readyState: 1,
    writes: [] as string[][],
    bufferedBytes: 0,
    closedWith: undefined as [number, string] | undefined,
    send(text: string): number {
      if (corking) corking.push(text);
      else socket.writes.push([text]);
      return text.length;
    },
    cork<T>(callback: (ws: BunWebSocket) => T): T {
      corking = [];
      try {
        return callback(socket);
      } finally {
        socket.writes.push(corking);
        corking = undefined;
      }
    },
    close(code?: number, reason?: string): void {
      socket.closedWith = [code ?? 1005, reason ?? ''];
      socket.readyState = 3;
    },
    getBufferedAmount: (): number => socket.bufferedBytes,
  };
  return socket;
}

const nextTick = (): Promise<void> => new Promise((resolve) => process.nextTick(resolve));

describe('BunTransport', () => {
  it('sends the frames of one tick in one corked write, each a frame of its own, in order', async () => {
    const socket = fakeBunSocket();
    const transport = new BunTransport(socket);
    const frames = Array.from({ length: 50 }, (_, index) => `{"chunk":${index}}`);
    for (const frame of frames) transport.send(frame);
    expect(socket.writes).toEqual([]);
    await nextTick();
    expect(socket.writes).toEqual([frames]);
    transport.send('next tick');
    await nextTick();
    expect(socket.writes).toEqual([frames, ['next tick']]);
  });

  it('counts the frames waiting for the end of the tick in bufferedAmount', async () => {
    const socket = fakeBunSocket();
    socket.bufferedBytes = 10;
    const transport = new BunTransport(socket);
    transport.send('12345');
    expect(transport.bufferedAmount()).toBe(15);
    await nextTick();
    expect(transport.bufferedAmount()).toBe(10);
  });

  it('tells whoever waits for a drain once the held frames went to Bun, though Bun took them whole (no drain of its own)', async () => {
    const socket = fakeBunSocket();
    const transport = new BunTransport(socket);
    transport.send('x'.repeat(1000));
    // The session holds back over this (held frames count) and waits for a drain.
    expect(transport.bufferedAmount()).toBe(1000);
    let drains = 0;
    const stop = transport.onDrain(() => drains++);
    await nextTick();
    expect(drains).toBe(1);
    expect(transport.bufferedAmount()).toBe(0);
    stop();
  });

  it('offers 64 KiB of held frames to the network at once', () => {
    const socket = fakeBunSocket();
    const transport = new BunTransport(socket);
    const big = 'x'.repeat(40 * 1024);
    transport.send(big);
    expect(socket.writes).toEqual([]);
    transport.send(big);
    expect(socket.writes).toEqual([[big, big]]);
    expect(transport.bufferedAmount()).toBe(0);
  });

  it('sends what the tick held before a close, and nothing after it', async () => {
    const socket = fakeBunSocket();
    const transport = new BunTransport(socket);
    transport.send('last words');
    transport.close(4000, 'bye');
    expect(socket.writes).toEqual([['last words']]);
    expect(socket.closedWith).toEqual([4000, 'bye']);
    transport.send('too late');
    await nextTick();
    expect(socket.writes).toEqual([['last words']]);
  });
});
