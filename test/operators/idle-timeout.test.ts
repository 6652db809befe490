import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { fromEvent } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { idleTimeout } from '../../src/operators/idle-timeout';

const newScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
const quiet = () => new Error('quiet');

describe('idleTimeout', () => {
  it('passes values through while they keep coming, and completes with the source', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('a-b-c-|').pipe(idleTimeout(3, quiet))).toBe('a-b-c-|');
    });
  });

  it('errors after the given silence since the last value, and unsubscribes the source', () => {
    newScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('a-b------c');
      expectObservable(source.pipe(idleTimeout(4, quiet))).toBe('a-b---#', undefined, new Error('quiet'));
      expectSubscriptions(source.subscriptions).toBe('^-----!');
    });
  });

  it('counts the wait for the first value too', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('-----a').pipe(idleTimeout(3, quiet))).toBe('---#', undefined, new Error('quiet'));
    });
  });
});

describe('idleTimeout on a real event loop', () => {
  let server: Server | undefined;
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.destroy();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    server = undefined;
  });

  /** A connected pair of loopback sockets. */
  async function socketPair(): Promise<{ reader: Socket; writer: Socket }> {
    server = createServer();
    const accepted = new Promise<Socket>((resolve) => server?.once('connection', resolve));
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const reader = connect((server.address() as AddressInfo).port, '127.0.0.1');
    sockets.push(reader);
    await new Promise((resolve) => reader.once('connect', resolve));
    const writer = await accepted;
    sockets.push(writer);
    return { reader, writer };
  }

  it('reads what arrived while this thread was held up past the timeout before calling the source silent', async () => {
    const { reader, writer } = await socketPair();
    const outcome = new Promise<string>((resolve) => {
      const subscription = fromEvent(reader, 'data')
        .pipe(idleTimeout(200, quiet))
        .subscribe({
          next: () => {
            subscription.unsubscribe();
            resolve('data');
          },
          error: (error: Error) => resolve(error.message),
        });
    });
    // Into the reader's receive buffer at once; the thread then stays busy (as when blocked on a
    // write to a full pipe) past the timeout, so the timer and the data are both due when it returns.
    writer.write('x');
    const busyUntil = Date.now() + 300;
    while (Date.now() < busyUntil);
    expect(await outcome).toBe('data');
  });

  it('still errors when nothing came', async () => {
    const { reader } = await socketPair();
    const outcome = new Promise<string>((resolve) => {
      fromEvent(reader, 'data')
        .pipe(idleTimeout(50, quiet))
        .subscribe({ next: () => resolve('data'), error: (error: Error) => resolve(error.message) });
    });
    expect(await outcome).toBe('quiet');
  });
});
