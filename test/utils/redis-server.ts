import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { waitUntilTrue } from './wait-until';

/** A redis-server of a test's own, which the test may kill and start again on the same port. */
export interface OwnRedis {
  readonly port: number;
  readonly url: string;
  /** Kills the server (SIGKILL: nothing is saved, as in a crash). */
  kill(): Promise<void>;
  /** Starts it again on the same port, empty. */
  restart(): Promise<void>;
  /** Stops the process (SIGSTOP): connections stay open, nothing is answered, as in a hung Redis. */
  freeze(): void;
  /** Lets a frozen server run on (SIGCONT); harmless on one that is not frozen. */
  thaw(): void;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function answers(port: number): Promise<boolean> {
  const probe = new Redis({
    port,
    host: '127.0.0.1',
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    const pong = await probe.ping();
    await probe.quit();
    return pong === 'PONG';
  } catch {
    if (probe.status !== 'end') probe.disconnect();
    return false;
  }
}

/** Starts `redis-server` (from PATH) on a free loopback port, without persistence. */
export async function startOwnRedis(): Promise<OwnRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = async (): Promise<void> => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: 'ignore',
    });
    // Tests kill it themselves; a test that fails before then must not keep Jest waiting on it.
    child.unref();
    await waitUntilTrue(() => answers(port), 5000, 50);
  };
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill: async () => {
      const running = child;
      if (!running || running.exitCode !== null) return;
      const exited = new Promise((resolve) => running.once('close', resolve));
      running.kill('SIGKILL');
      await exited;
    },
    restart: start,
    freeze: () => {
      if (child && child.exitCode === null) child.kill('SIGSTOP');
    },
    thaw: () => {
      if (child && child.exitCode === null) child.kill('SIGCONT');
    },
  };
}
