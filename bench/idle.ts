/**
 * Idle sessions: opens `connections` clients in batches, waits for every greeting, prints
 * `connected <n> failed <m>`, then holds them until a `close` line arrives on stdin, closes them
 * all and prints `closed`.
 *
 *   node --import tsx bench/idle.ts '{"url":"ws://127.0.0.1:3000/ws","transport":"ws","connections":10000}'
 */
import { createInterface } from 'node:readline';
import { wallClockMs } from '../src/testing/node';
import { type BenchConnection, openConnection, type Transport } from './clients';

export interface IdleSpec {
  readonly url: string;
  readonly transport: Transport;
  readonly connections: number;
}

/** Connections opened at once: enough to be quick, few enough not to overflow the listen backlog. */
const BATCH = 250;

function greeted(spec: IdleSpec): Promise<BenchConnection | undefined> {
  return new Promise((resolve) => {
    const connection: BenchConnection = openConnection(
      spec.transport,
      spec.url,
      {
        message: (message) => {
          if (message.type === 'session') resolve(connection);
        },
        error: () => resolve(undefined),
      },
      wallClockMs,
    );
  });
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] as string) as IdleSpec;
  const open: BenchConnection[] = [];
  let failed = 0;
  for (let start = 0; start < spec.connections; start += BATCH) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(BATCH, spec.connections - start) }, () => greeted(spec)),
    );
    for (const connection of batch) {
      if (connection) open.push(connection);
      else failed++;
    }
  }
  console.log(`connected ${open.length} failed ${failed}`);
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    if (line.trim() !== 'close') continue;
    for (const connection of open) connection.close();
    // Give the close handshakes time to leave before the process (and its sockets) goes.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    console.log('closed');
    process.exit(0);
  }
}

void main();
