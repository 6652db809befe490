/**
 * A socket's data arrives while this thread is busy past `idleTimeout`'s timeout (as when blocked
 * on a write to a full pipe): resolves `'data'` when the watchdog let the data through, or the
 * watchdog's error message (`'quiet'`) when it called the source silent. With `send: false`
 * nothing is written, so the watchdog must fire. Closes what it opened.
 */
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { fromEvent } from 'rxjs';
import { idleTimeout } from '../../src/operators/idle-timeout';

export async function heldUpOutcome(options: {
  readonly timeoutMs: number;
  readonly busyMs: number;
  readonly send: boolean;
}): Promise<string> {
  const server = createServer();
  const sockets: Socket[] = [];
  try {
    const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const reader = connect((server.address() as AddressInfo).port, '127.0.0.1');
    sockets.push(reader);
    await new Promise((resolve) => reader.once('connect', resolve));
    sockets.push(await accepted);
    const outcome = new Promise<string>((resolve) => {
      const subscription = fromEvent(reader, 'data')
        .pipe(idleTimeout(options.timeoutMs, () => new Error('quiet')))
        .subscribe({
          next: () => {
            subscription.unsubscribe();
            resolve('data');
          },
          error: (error: Error) => resolve(error.message),
        });
    });
    // Into the reader's receive buffer at once; the thread then stays busy past the timeout, so
    // the timer and the data are both due when it returns.
    if (options.send) sockets[1]?.write('x');
    const busyUntil = Date.now() + options.busyMs;
    while (Date.now() < busyUntil);
    return await outcome;
  } finally {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
}
