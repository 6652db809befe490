import { connect, type Socket } from 'node:net';
import type { WSServerOptions } from '../../src/server/options';
import { useLoopbackServer } from '../utils/loopback-server';
import { connectTestClient, type TestClient } from '../utils/ws-test-client';

/**
 * permessage-deflate as `enableCompression` sets it, seen from a real `ws` client over loopback:
 * what was negotiated, and how many bytes crossed the socket for the frames received.
 */
const loopback = useLoopbackServer();

/** 40 chunks of 30 characters: small chunk frames, and an llm_complete of ~1.2 KiB of text. */
const chunks = Array.from({ length: 40 }, (_, index) => `word ${String(index).padStart(3, '0')} of a long answer; `);

async function replyOver(
  options: WSServerOptions,
): Promise<{ client: TestClient; frameBytes: number; socketBytes: number; extensions: string }> {
  loopback.upstream.enqueue({ type: 'text', chunks });
  const server = await loopback.start(options);
  // The TCP socket under the WebSocket, to count the bytes that crossed it.
  let tcp: Socket | undefined;
  const client = await connectTestClient(server.url as string, {
    perMessageDeflate: true,
    createConnection: (options) => (tcp = connect(options as { port: number; host: string })),
  });
  await client.waitFor('session');
  if (!tcp) throw new Error('the client made no TCP connection of ours');
  const socket = tcp;
  const before = socket.bytesRead;
  const frameBytesBefore = client.received.reduce(
    (sum, message) => sum + Buffer.byteLength(JSON.stringify(message)),
    0,
  );
  client.send({ type: 'user_message', id: 'r1', data: { text: 'go' } });
  await client.waitFor('llm_complete', undefined, 10_000);
  await client.waitFor(
    'status',
    (message) => message.data.status === 'idle' && client.received.some((m) => m.type === 'llm_complete'),
  );
  const socketBytes = socket.bytesRead - before;
  const frameBytes =
    client.received.reduce((sum, message) => sum + Buffer.byteLength(JSON.stringify(message)), 0) - frameBytesBefore;
  return { client, frameBytes, socketBytes, extensions: client.upgradeHeaders['sec-websocket-extensions'] ?? '' };
}

afterEach(async () => {
  // The client of replyOver is not the fixture's: closed here.
  for (const client of opened.splice(0)) await client.close();
});
const opened: TestClient[] = [];
const run = async (options: WSServerOptions) => {
  const result = await replyOver(options);
  opened.push(result.client);
  return result;
};

describe('enableCompression', () => {
  it('is off by default: nothing is negotiated, every byte of every frame crosses the socket', async () => {
    const { extensions, socketBytes, frameBytes } = await run({});
    expect(extensions).toBe('');
    expect(socketBytes).toBeGreaterThanOrEqual(frameBytes);
  });

  it('true: frames from 1 KiB up are compressed, each on its own; chunk frames go as they are', async () => {
    const { client, extensions, socketBytes, frameBytes } = await run({ enableCompression: true });
    expect(extensions).toContain('permessage-deflate');
    expect(extensions).toContain('server_no_context_takeover');
    const complete = client.received.find((message) => message.type === 'llm_complete');
    const completeBytes = Buffer.byteLength(JSON.stringify(complete));
    expect(completeBytes).toBeGreaterThan(1024);
    // Everything but the llm_complete went uncompressed, and that one shrank.
    expect(socketBytes).toBeGreaterThan(frameBytes - completeBytes);
    expect(socketBytes).toBeLessThan(frameBytes);
  });

  it('contextTakeover: every frame is compressed against the ones before, so chunk frames shrink too', async () => {
    const { extensions, socketBytes, frameBytes } = await run({ enableCompression: { contextTakeover: true } });
    expect(extensions).toContain('permessage-deflate');
    expect(extensions).not.toContain('server_no_context_takeover');
    expect(socketBytes).toBeLessThan(frameBytes / 2);
  });

  it('thresholdBytes 0 compresses every frame, each on its own', async () => {
    const off = await run({ enableCompression: true });
    // One server per test in the fixture: this one is stopped here, the next after the test.
    await loopback.server?.stop();
    const all = await run({ enableCompression: { thresholdBytes: 0 } });
    expect(all.extensions).toContain('server_no_context_takeover');
    expect(all.socketBytes).toBeLessThan(off.socketBytes);
  });
});
