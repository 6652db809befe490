/**
 * A thundering herd against a running server: 300 clients connect, then all send a user_message
 * in the same instant. Prints when the `status thinking` frames (sent as each reply starts, before
 * its model request) and the first chunks arrive, from the moment of sending. bench/NOTES.md uses it.
 *
 *   npx tsx bench/herd.ts ws://127.0.0.1:3000/ws [clients]
 */
import WebSocket from 'ws';
import { percentile } from './load';

async function main(): Promise<void> {
  const url = process.argv[2] as string;
  const clients = Number(process.argv[3] ?? 300);
  const sockets = await Promise.all(
    Array.from(
      { length: clients },
      () =>
        new Promise<WebSocket>((resolve) =>
          new WebSocket(url).once('message', function (this: WebSocket) {
            resolve(this);
          }),
        ),
    ),
  );
  const sentAt = performance.now();
  const thinking: number[] = [];
  const firstChunk: number[] = [];
  await Promise.all(
    sockets.map(
      (socket, i) =>
        new Promise<void>((resolve) => {
          let seenChunk = false;
          socket.on('message', (raw) => {
            const message = JSON.parse(raw.toString());
            const at = performance.now() - sentAt;
            if (message.type === 'status' && message.data.status === 'thinking') thinking.push(at);
            if (message.type === 'llm_chunk' && message.data.chunk && !seenChunk) {
              seenChunk = true;
              firstChunk.push(at);
            }
            if (message.type === 'llm_complete') {
              socket.close();
              resolve();
            }
          });
          socket.send(JSON.stringify({ type: 'user_message', id: `q${i}`, data: { text: 'K=2 D=0' } }));
        }),
    ),
  );
  const ms = (values: number[], p: number): string =>
    percentile(
      [...values].sort((a, b) => a - b),
      p,
    ).toFixed(1);
  console.log(
    `reply started (status thinking): p50 ${ms(thinking, 50)} ms, p99 ${ms(thinking, 99)} ms; first chunk: p50 ${ms(firstChunk, 50)} ms, p99 ${ms(firstChunk, 99)} ms`,
  );
}

void main();
