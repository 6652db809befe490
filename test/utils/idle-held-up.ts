/**
 * For tests to run under Bun (`bun test/utils/idle-held-up.ts`): a socket's data arrives while
 * the main thread is busy past `idleTimeout`'s timeout, as when blocked on a write to a full
 * pipe. Prints `outcome data` when the watchdog let the data through, `outcome quiet` when it
 * called the source silent.
 */
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { fromEvent } from 'rxjs';
import { idleTimeout } from '../../src/operators/idle-timeout';

async function main(): Promise<void> {
  const server = createServer();
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const reader = connect((server.address() as AddressInfo).port, '127.0.0.1');
  await new Promise((resolve) => reader.once('connect', resolve));
  const writer = await accepted;
  const outcome = new Promise<string>((resolve) => {
    const subscription = fromEvent(reader, 'data')
      .pipe(idleTimeout(200, () => new Error('quiet')))
      .subscribe({
        next: () => {
          subscription.unsubscribe();
          resolve('data');
        },
        error: (error: Error) => resolve(error.message),
      });
  });
  writer.write('x');
  const busyUntil = Date.now() + 300;
  while (Date.now() < busyUntil);
  console.log(`outcome ${await outcome}`);
  reader.destroy();
  writer.destroy();
  server.close();
}

void main();
