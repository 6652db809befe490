import type { WSServer } from '../../src/server/ws-server';
import { createOpenAITestServer, type OpenAITestServer } from '../../src/testing/node';
import { startServerFor } from '../utils/test-server';
import { connectTestClient, type TestClient, userMessage } from '../utils/ws-test-client';

/**
 * "Disconnecting is not aborting", for every reply the server accepts: with the default limits,
 * a reply up to `maxReplyTextBytes` (4 MiB) that runs on after its client dropped can be resumed,
 * whether the client missed all but its first chunk, or only its `llm_complete`.
 */
const MiB = 1024 * 1024;
let upstream: OpenAITestServer;
let server: WSServer;
const clients: TestClient[] = [];

beforeEach(async () => {
  upstream = await createOpenAITestServer();
  server = await startServerFor(upstream);
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await server.stop();
  await upstream.close();
});

const connect = async (): Promise<TestClient> => {
  const client = await connectTestClient(server.url as string);
  clients.push(client);
  await client.waitFor('session');
  return client;
};

/** Resolves once no reply runs on the server: the dropped client's reply has ended, into the log. */
const replyEnded = async (): Promise<void> => {
  while (server.getActiveSessions().some((session) => session.status !== 'idle'))
    await new Promise((resolve) => setTimeout(resolve, 20));
};

/** The resumed reply's llm_complete; fails with the error (a resume_gap) when one comes instead. */
const completeOrError = async (client: TestClient) => {
  const error = client.waitFor('error', undefined, 40_000).then((m) => {
    throw new Error(`the resume was answered ${m.data.code}: ${m.data.message}`);
  });
  error.catch(() => undefined);
  return Promise.race([client.waitFor('llm_complete', undefined, 40_000), error]);
};

/** A reply of `bytes` bytes of text in 2 KiB chunks (a model's large answer, far under 5,000 chunks). */
function enqueueReply(bytes: number): string {
  const chunkBytes = 2048;
  const chunks = Array.from({ length: Math.ceil(bytes / chunkBytes) }, (_, i) =>
    `${i} `.padEnd(chunkBytes, 'lorem ipsum ').slice(0, Math.min(chunkBytes, bytes - i * chunkBytes)),
  );
  upstream.enqueue({ type: 'text', chunks });
  return chunks.join('');
}

describe.each([
  ['1.1 MiB', 1.1 * MiB],
  ['2.1 MiB', 2.1 * MiB],
  ['4 MiB', 4 * MiB - 1024],
])('resuming a reply of %s', (_size, bytes) => {
  jest.setTimeout(60_000);

  it('dropped after its first chunk: the rest and its llm_complete are replayed', async () => {
    const text = enqueueReply(Math.floor(bytes));
    const first = await connect();
    const { sessionId, resumeToken } = (await first.waitFor('session')).data;
    first.send(userMessage('m1', 'a long answer, please'));
    const chunk = await first.waitFor('llm_chunk', (m) => m.data.chunk !== '', 10_000);
    first.socket.terminate();
    await replyEnded();

    const second = await connect();
    second.send({ type: 'resume', id: 'r1', data: { sessionId, resumeToken, lastSeq: chunk.seq } });
    const complete = await completeOrError(second);
    const replayed = second.received.flatMap((m) => (m.type === 'llm_chunk' ? [m.data.chunk] : []));
    expect(chunk.data.chunk + replayed.join('')).toBe(text);
    expect(complete.data.fullText).toBe(text);
  });

  it('dropped after its last chunk, before its llm_complete: the llm_complete is replayed', async () => {
    const text = enqueueReply(Math.floor(bytes));
    const first = await connect();
    const { sessionId, resumeToken } = (await first.waitFor('session')).data;
    first.send(userMessage('m1', 'a long answer, please'));
    // The client read every chunk and said so (as WSClient does on its heartbeat), then dropped.
    let read = '';
    let lastChunkSeq = 0;
    await first.waitFor(
      'llm_chunk',
      (m) => {
        if (m.seq !== undefined && m.seq > lastChunkSeq) {
          read += m.data.chunk;
          lastChunkSeq = m.seq;
        }
        return read.length >= text.length;
      },
      30_000,
    );
    first.send({ type: 'ping', id: 'p1', data: { lastSeq: lastChunkSeq } });
    await first.waitFor('pong');
    first.socket.terminate();
    await replyEnded();

    const second = await connect();
    second.send({ type: 'resume', id: 'r1', data: { sessionId, resumeToken, lastSeq: lastChunkSeq } });
    const complete = await completeOrError(second);
    expect(complete.data.fullText).toBe(text);
  });
});
