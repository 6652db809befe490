import type WebSocket from 'ws';
import type { ServerMessage } from '../../src/protocol/codecs';
import type { WSServerOptions } from '../../src/server/options';
import type { WSServer } from '../../src/server/ws-server';
import { redisStore } from '../../src/store/redis';
import { createOpenAITestServer, type OpenAITestServer } from '../../src/testing/node';
import { isolatedRedisKeys, TEST_REDIS_URL } from '../utils/redis';
import { startServerFor } from '../utils/test-server';
import { connectTestClient, type TestClient, userMessage } from '../utils/ws-test-client';
import { waitUntilTrue } from '../utils/wait-until';

/**
 * "Disconnecting is not aborting" for a reply of the largest size the server accepts streamed in
 * many small frames: 4 MiB in 16,384 chunks, far past `replayMaxMessages` (5,000). Dropped at any
 * point (after its first chunk, midway, after its last chunk, and again midway through a replay),
 * a resume gives the client the rest of the text exactly once and the whole `llm_complete`, with
 * the memory store and with Redis (resumed on another process, after the reply ended there or
 * while it still streams).
 */
const MiB = 1024 * 1024;
const CHUNK_BYTES = 256;
const REPLY_BYTES = 4 * MiB - 4096;
const keys = isolatedRedisKeys();
let upstream: OpenAITestServer;
let servers: WSServer[] = [];
const clients: TestClient[] = [];

jest.setTimeout(90_000);

beforeEach(async () => {
  upstream = await createOpenAITestServer();
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await Promise.all(servers.map((server) => server.stop()));
  servers = [];
  await upstream.close();
});

async function start(options: WSServerOptions = {}): Promise<WSServer> {
  const server = await startServerFor(upstream, options);
  servers.push(server);
  return server;
}

// 16,384 frames at full speed on a machine shared with other suites: Redis may answer late; a
// command timing out would stop the reply (store_unavailable), which is not what is tested here.
const onRedis = (): WSServerOptions => ({
  store: redisStore({ url: TEST_REDIS_URL, prefix: keys.prefix, commandTimeoutMs: 20_000 }),
});

/** A reply of `bytes` in `chunkBytes`-byte chunks (each with a quote and a newline to escape), queued upstream; its text. */
function enqueueReply(bytes = REPLY_BYTES, chunkBytes = CHUNK_BYTES, delayMs = 0): string {
  const chunks = Array.from({ length: Math.ceil(bytes / chunkBytes) }, (_, i) =>
    `${i}"\n `.padEnd(chunkBytes, 'lorem ipsum ').slice(0, Math.min(chunkBytes, bytes - i * chunkBytes)),
  );
  upstream.enqueue({ type: 'text', chunks, ...(delayMs > 0 ? { delayMs } : {}) });
  return chunks.join('');
}

/** What a client read of a reply's stream: each message once, by seq, as WSClient does. */
interface Reader {
  text: string;
  lastSeq: number;
  chunks: number;
  complete?: ServerMessage & { type: 'llm_complete' };
  error?: ServerMessage & { type: 'error' };
  /** Resolves once `stop` says so (the reader then reads nothing more), or on the llm_complete or an error. */
  done: Promise<void>;
}

/**
 * Reads `socket`'s stream from `reader` on (the part read before a drop); stops reading and
 * terminates the socket once `dropWhen` says so, as a network drop would.
 */
function read(socket: WebSocket, reader: Omit<Reader, 'done'>, dropWhen: (reader: Reader) => boolean = () => false) {
  const state = reader as Reader;
  state.done = new Promise<void>((resolve) => {
    let stopped = false;
    socket.on('message', (data) => {
      if (stopped) return;
      const message = JSON.parse(data.toString()) as ServerMessage;
      if (message.type === 'error') {
        state.error = message;
        stopped = true;
        return resolve();
      }
      if (message.seq === undefined || message.seq <= state.lastSeq) return;
      state.lastSeq = message.seq;
      if (message.type === 'llm_chunk') {
        state.text += message.data.chunk;
        state.chunks++;
      }
      if (message.type === 'llm_complete') {
        state.complete = message;
        stopped = true;
        return resolve();
      }
      if (dropWhen(state)) {
        stopped = true;
        socket.terminate();
        resolve();
      }
    });
  });
  return state;
}

async function connect(server: WSServer): Promise<TestClient> {
  const client = await connectTestClient(server.url as string);
  clients.push(client);
  await client.waitFor('session');
  return client;
}

/** Waits until no reply runs on `server` (the dropped client's reply went on into the log). */
const replyEnded = (server: WSServer) =>
  waitUntilTrue(() => server.getActiveSessions().every((session) => session.status === 'idle'), 60_000);

/** Resumes the session on `server` from what `reader` read; reads on until the llm_complete (or `dropWhen`). */
async function resume(
  server: WSServer,
  session: { sessionId: string; resumeToken: string },
  reader: Reader,
  dropWhen?: (reader: Reader) => boolean,
): Promise<Reader> {
  const client = await connect(server);
  const next = read(client.socket, { text: reader.text, lastSeq: reader.lastSeq, chunks: reader.chunks }, dropWhen);
  client.send({ type: 'resume', id: `r${reader.lastSeq}`, data: { ...session, lastSeq: reader.lastSeq } });
  await next.done;
  return next;
}

const expectWhole = (reader: Reader, text: string): void => {
  expect(reader.error?.data).toBeUndefined();
  expect(reader.text.length).toBe(text.length);
  expect(reader.text === text).toBe(true);
  expect(reader.complete?.data.fullText === text).toBe(true);
};

const dropPoints: Array<[string, (text: string) => (reader: Reader) => boolean]> = [
  ['after its first chunk', () => (reader) => reader.chunks === 1],
  ['midway', (text) => (reader) => reader.text.length >= text.length / 2],
  ['after its last chunk, before its llm_complete', (text) => (reader) => reader.text.length === text.length],
];

describe.each([
  ['the memory store', () => ({}), false],
  ['Redis, resumed on another process', onRedis, true],
] as const)('a 4 MiB reply in 16,384 frames, with %s', (_store, options, elsewhere) => {
  it.each(dropPoints)('dropped %s: the resume gives the rest exactly once', async (_point, dropAt) => {
    const a = await start(options());
    const b = elsewhere ? await start(options()) : a;
    const text = enqueueReply();
    const first = await connect(a);
    const session = (await first.waitFor('session')).data;
    const before = read(first.socket, { text: '', lastSeq: 0, chunks: 0 }, dropAt(text));
    first.send(userMessage('m1', 'a long answer in small pieces, please'));
    await before.done;
    expect(before.complete).toBeUndefined();
    await replyEnded(a);

    expectWhole(await resume(b, session, before), text);
  });

  it('dropped again midway through the replay: the next resume goes on from there', async () => {
    const a = await start(options());
    const b = elsewhere ? await start(options()) : a;
    const text = enqueueReply();
    const first = await connect(a);
    const session = (await first.waitFor('session')).data;
    const before = read(first.socket, { text: '', lastSeq: 0, chunks: 0 }, (reader) => reader.chunks === 3);
    first.send(userMessage('m1', 'a long answer in small pieces, please'));
    await before.done;
    await replyEnded(a);

    const partly = await resume(b, session, before, (reader) => reader.text.length >= (text.length * 2) / 3);
    expect(partly.complete).toBeUndefined();
    expect(partly.lastSeq).toBeGreaterThan(before.lastSeq);
    expectWhole(await resume(b, session, partly), text);
  });
});

it('Redis: resumed on another process while the reply still streams there, from its start', async () => {
  const a = await start(onRedis());
  const b = await start(onRedis());
  // 6,000 chunks 1 ms apart: the resume comes while the writer still streams, and the other process follows it.
  const text = enqueueReply(6000 * 690, 690, 1);
  const first = await connect(a);
  const session = (await first.waitFor('session')).data;
  const before = read(first.socket, { text: '', lastSeq: 0, chunks: 0 }, (reader) => reader.chunks === 1);
  first.send(userMessage('m1', 'a long answer in small pieces, please'));
  await before.done;
  // Past replayMaxMessages frames into the reply, before its end.
  const log = `${keys.prefix}{${session.sessionId}}:log`;
  const newest = async (): Promise<number> => {
    const info = (await keys.redis.call('XINFO', 'STREAM', log).catch(() => [])) as unknown[];
    return Number.parseInt(String(info[info.indexOf('last-generated-id') + 1]), 10) || 0;
  };
  await waitUntilTrue(async () => (await newest()) > 5200, 30_000);

  expectWhole(await resume(b, session, before), text);
  await replyEnded(a);
});
