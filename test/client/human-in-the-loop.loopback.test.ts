import { WSClient } from '../../src/client/node';
import { humanInTheLoop } from '../../src/client/human-in-the-loop';
import type { Logger } from '../../src/server/logger';
import { useLoopbackServer } from '../utils/loopback-server';

/** WSClient's human in the loop over real sockets, against WSServer and the OpenAI-compatible test server. */
const loopback = useLoopbackServer();
let client: WSClient | undefined;

afterEach(() => {
  client?.disconnect();
  client = undefined;
});

/** The tool messages the model was sent in its `index`-th request. */
const toolMessagesOf = async (index: number) =>
  ((await loopback.upstream.request(index)).body.messages as Array<{ role: string; content: string }>)
    .filter((m) => m.role === 'tool')
    .map((m) => m.content);

/** A logger that keeps what it is given at warn and above. */
function recordingLogger(lines: Array<{ fields: unknown; message: string | undefined }>): Logger {
  const record = (fields: unknown, message?: string): void => void lines.push({ fields, message });
  const ignore = (): void => undefined;
  const logger: Logger = { debug: ignore, info: ignore, warn: record, error: record, child: () => logger };
  return logger;
}

describe('client tool results too large, over loopback', () => {
  const callBig = () =>
    loopback.upstream.enqueue(
      { type: 'tool_calls', calls: [{ id: 'call_big', name: 'big', arguments: {} }] },
      { type: 'text', chunks: ['ok'] },
    );

  it('sends a result over maxToolResultBytes as an error naming its size and the limit: no frame refused, no reconnect', async () => {
    await loopback.start({ clientToolTimeoutMs: 10_000 });
    callBig();
    client = new WSClient({
      humanInTheLoop,
      url: loopback.server?.url as string,
      heartbeatInterval: 0,
      tools: [{ name: 'big', description: 'a large result', parameters: {}, execute: () => 'x'.repeat(2_000_000) }],
    });
    await client.connect();
    const reply = await client.sendMessage('go');
    expect(reply.fullText).toBe('ok');
    expect(await toolMessagesOf(1)).toEqual([
      'Error: the result of big has 2000002 bytes of JSON; this client sends at most 262144',
    ]);
    expect(client.getStats().reconnects).toBe(0);
  });

  it('after a 1009 close caused by a result, sends it again as an error, once; the server reports 1009 and logs one line', async () => {
    const lines: Array<{ fields: unknown; message: string | undefined }> = [];
    await loopback.start({ clientToolTimeoutMs: 10_000, maxPayload: 64 * 1024, logger: recordingLogger(lines) });
    const closeCodes: number[] = [];
    loopback.server?.onClientDisconnected(({ code }) => closeCodes.push(code));
    callBig();
    client = new WSClient({
      humanInTheLoop,
      url: loopback.server?.url as string,
      heartbeatInterval: 0,
      reconnectDelay: 10,
      // Past the server's maxPayload: the frame is refused whole.
      maxToolResultBytes: 1024 * 1024,
      tools: [{ name: 'big', description: 'a large result', parameters: {}, execute: () => 'x'.repeat(100_000) }],
    });
    const disconnects: Array<number | undefined> = [];
    client.onDisconnected(({ code }) => disconnects.push(code));
    await client.connect();
    const reply = await client.sendMessage('go');
    expect(reply.fullText).toBe('ok');
    const [told] = await toolMessagesOf(1);
    expect(told).toMatch(
      /^Error: the result of big \(a frame of \d+ bytes\) was larger than the server takes in one frame: it closed the connection with 1009$/,
    );
    expect(disconnects).toEqual([1009]);
    expect(client.getStats().reconnects).toBe(1);
    expect(closeCodes).toEqual([1009]);
    expect(lines).toEqual([
      {
        fields: { code: 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', closeCode: 1009 },
        message: 'websocket closed: Max payload size exceeded',
      },
    ]);
  });
});

describe('a message over the server maxPayload', () => {
  it('fails with message_too_large after the 1009 close, is not sent again, and the next message works', async () => {
    await loopback.start({ maxPayload: 64 * 1024 });
    const closeCodes: number[] = [];
    loopback.server?.onClientDisconnected(({ code }) => closeCodes.push(code));
    client = new WSClient({ url: loopback.server?.url as string, heartbeatInterval: 0, reconnectDelay: 10 });
    await client.connect();
    await expect(client.sendMessage('x'.repeat(100_000))).rejects.toMatchObject({
      code: 'message_too_large',
      message: expect.stringMatching(/larger than the server takes in one frame: it closed the connection with 1009$/),
    });
    loopback.upstream.enqueue({ type: 'text', chunks: ['ok'] });
    expect((await client.sendMessage('small')).fullText).toBe('ok');
    // One refusal: the large frame went out once, never again on the reconnected connection.
    expect(closeCodes).toEqual([1009]);
    expect(client.getStats().reconnects).toBe(1);
  });
});
