/**
 * Pictures and files on a `user_message`, over real sockets with the OpenAI-compatible test
 * server as the model: what the model is sent (content parts), what history keeps (references,
 * not bytes), the fetch path, the limits and their error codes, and text-only frames unchanged.
 */
import { WSClient } from '../../src/client/node';
import { attachmentBytesFor, DEFAULT_MAX_MESSAGE_ATTACHMENT_BYTES } from '../../src/core/attachments';
import { DEFAULT_MAX_PAYLOAD_BYTES, DEFAULT_MAX_MESSAGE_LENGTH } from '../../src/server/options';
import { useLoopbackServer } from '../utils/loopback-server';
import { type TestClient, userMessage } from '../utils/ws-test-client';
import { withoutIds } from '../utils/history';

const loopback = useLoopbackServer();
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108020000009077', 'hex').toString('base64');
const PDF = Buffer.from('%PDF-1.4 test').toString('base64');

type Part = { type: string; text?: string; image_url?: { url: string }; file?: unknown; input_audio?: unknown };
const userContentOf = async (index: number): Promise<string | Part[]> => {
  const messages = (await loopback.upstream.request(index)).body.messages as Array<{
    role: string;
    content: string | Part[];
  }>;
  return messages.filter((m) => m.role === 'user').at(-1)?.content as string | Part[];
};

function send(client: TestClient, id: string, text: string, attachments: unknown) {
  client.send({ type: 'user_message', id, data: { text, attachments } });
}

const httpBase = (): string => (loopback.server?.url as string).replace(/^ws/, 'http').replace(/\/ws$/, '');

describe('attachments', () => {
  it('sends a picture, a PDF and audio to the model as content parts, and keeps references in history', async () => {
    await loopback.start();
    const client = await loopback.connect();
    send(client, 'm1', 'what is this?', [
      { mediaType: 'image/png', data: PNG, name: 'dot.png' },
      { mediaType: 'application/pdf', url: `data:application/pdf;base64,${PDF}`, name: 'doc.pdf' },
      { mediaType: 'audio/wav', data: 'UklGRg==' },
      { mediaType: 'image/jpeg', url: 'https://images.example.com/cat.jpg' },
    ]);
    await client.waitFor('llm_complete', (m) => m.data.requestId === 'm1');
    expect(await userContentOf(0)).toEqual([
      { type: 'text', text: 'what is this?' },
      { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } },
      { type: 'file', file: { file_data: `data:application/pdf;base64,${PDF}`, filename: 'doc.pdf' } },
      { type: 'input_audio', input_audio: { data: 'UklGRg==', format: 'wav' } },
      { type: 'image_url', image_url: { url: 'https://images.example.com/cat.jpg' } },
    ]);

    client.send({ type: 'control', id: 'h1', data: { type: 'get_history' } });
    const history = await client.waitFor('history', (m) => m.data.requestId === 'h1');
    const [user] = history.data.messages;
    expect(user?.attachments).toEqual([
      { mediaType: 'image/png', name: 'dot.png', bytes: 31, ref: expect.stringMatching(/^sha256-[0-9a-f]{64}$/) },
      { mediaType: 'application/pdf', name: 'doc.pdf', bytes: 13, ref: expect.stringMatching(/^sha256-/) },
      { mediaType: 'audio/wav', bytes: 4, ref: expect.stringMatching(/^sha256-/) },
      { mediaType: 'image/jpeg', url: 'https://images.example.com/cat.jpg' },
    ]);
    // By reference: the bytes are in no frame of the stream or history.
    expect(JSON.stringify(history)).not.toContain(PNG);

    const response = await fetch(`${httpBase()}/attachments/${user?.attachments?.[0]?.ref}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/png');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(Buffer.from(await response.arrayBuffer()).toString('base64')).toBe(PNG);
    expect((await fetch(`${httpBase()}/attachments/sha256-${'0'.repeat(64)}`)).status).toBe(404);
    expect((await fetch(`${httpBase()}/attachments/../../etc/passwd`)).status).toBe(404);

    // The next model call still sends the picture (read back from the store).
    loopback.upstream.enqueue({ type: 'text', chunks: ['ok'] });
    client.send(userMessage('m2', 'and now?'));
    await client.waitFor('llm_complete', (m) => m.data.requestId === 'm2');
    const messages = (await loopback.upstream.request(1)).body.messages as Array<{ role: string; content: unknown }>;
    expect(messages.filter((m) => m.role === 'user')[0]?.content).toEqual(await userContentOf(0));
  });

  it('leaves text-only frames as they were: the model gets a string', async () => {
    await loopback.start();
    const client = await loopback.connect();
    client.send({ type: 'user_message', id: 'm1', data: { text: 'plain' } });
    await client.waitFor('llm_complete', (m) => m.data.requestId === 'm1');
    expect(await userContentOf(0)).toBe('plain');
    client.send({ type: 'control', id: 'h1', data: { type: 'get_history' } });
    const history = await client.waitFor('history', (m) => m.data.requestId === 'h1');
    expect(withoutIds(history.data.messages)[0]).toEqual({ role: 'user', content: 'plain' });
  });

  it.each([
    [
      'too large',
      [{ mediaType: 'image/png', data: 'A'.repeat(2000) }],
      'attachment_too_large',
      'attachment 1: 1500 bytes; this server takes at most 1000 per attachment',
    ],
    [
      'too large together',
      [
        { mediaType: 'image/png', data: 'A'.repeat(1200) },
        { mediaType: 'image/png', data: 'B'.repeat(1200) },
      ],
      'attachment_too_large',
      'the attachments add up to more than 1500 bytes, the most this server takes per message',
    ],
    [
      'a type not taken',
      [{ mediaType: 'application/x-msdownload', data: 'AAAA', name: 'a.exe' }],
      'unsupported_attachment',
      'attachment 1 (a.exe): application/x-msdownload is not taken; this server takes image/*, application/pdf',
    ],
    [
      'data not base64',
      [{ mediaType: 'image/png', data: 'not base64!' }],
      'invalid_attachment',
      'attachment 1: data is not base64',
    ],
    [
      'a malformed data URL',
      [{ mediaType: 'image/png', url: 'data:image/png,rawbytes' }],
      'invalid_attachment',
      'attachment 1: a data: URL must be data:<media type>;base64,<data>',
    ],
    [
      'a data URL of another type',
      [{ mediaType: 'image/png', url: 'data:text/html;base64,AAAA' }],
      'invalid_attachment',
      'attachment 1: its data: URL says text/html, its mediaType image/png',
    ],
    [
      'an http URL',
      [{ mediaType: 'image/png', url: 'http://169.254.169.254/latest' }],
      'unsupported_attachment',
      'attachment 1: a remote url must be https:',
    ],
    [
      'a file by URL',
      [{ mediaType: 'application/pdf', url: 'https://example.com/a.pdf' }],
      'unsupported_attachment',
      'attachment 1: only pictures go by url (the model takes other files as data)',
    ],
  ])('refuses %s with a stable code, and the session goes on', async (_, attachments, code, message) => {
    await loopback.start({
      maxAttachmentBytes: 1000,
      maxMessageAttachmentBytes: 1500,
      attachmentMediaTypes: ['image/*', 'application/pdf'],
    });
    const client = await loopback.connect();
    send(client, 'm1', 'look', attachments);
    const error = await client.waitFor('error', (m) => m.data.requestId === 'm1');
    expect(error.data).toMatchObject({ code, message, retryable: false });
    expect(loopback.upstream.requests).toHaveLength(0);
    client.send(userMessage('m2', 'still there?'));
    expect((await client.waitFor('llm_complete', (m) => m.data.requestId === 'm2')).data.fullText).toBe(
      'You said: still there?',
    );
  });

  it.each([
    ['the default maxPayload (1 MiB)', undefined],
    ['a maxPayload of 3 MiB', 3 * 1024 * 1024],
  ])(
    'with %s, a message at the default attachment limits fits in one frame; a byte past them is attachment_too_large',
    async (_, maxPayload) => {
      const payload = maxPayload ?? DEFAULT_MAX_PAYLOAD_BYTES;
      const limit = attachmentBytesFor(payload);
      if (maxPayload === undefined) expect(limit).toBe(DEFAULT_MAX_MESSAGE_ATTACHMENT_BYTES);
      await loopback.start(maxPayload === undefined ? {} : { maxPayload });
      const client = await loopback.connect();
      // At the limit, in two attachments, with the longest text of three UTF-8 bytes a character.
      const data = (bytes: number): string => Buffer.alloc(bytes, 'a').toString('base64');
      const text = '€'.repeat(DEFAULT_MAX_MESSAGE_LENGTH);
      const first = Math.floor(limit / 2);
      const atLimit = [
        { mediaType: 'text/plain', data: data(first), name: 'a'.repeat(255) },
        { mediaType: 'text/plain', data: data(limit - first), name: 'b'.repeat(255) },
      ];
      const frame = JSON.stringify({ type: 'user_message', id: 'm1', data: { text, attachments: atLimit } });
      expect(Buffer.byteLength(frame)).toBeLessThanOrEqual(payload);
      send(client, 'm1', text, atLimit);
      await client.waitFor('llm_complete', (m) => m.data.requestId === 'm1', 20_000);
      // One byte more: refused with its code, the connection stays up.
      send(client, 'm2', 'one more', [
        { mediaType: 'text/plain', data: data(first) },
        { mediaType: 'text/plain', data: data(limit - first + 1) },
      ]);
      const error = await client.waitFor('error', (m) => m.data.requestId === 'm2');
      expect(error.data).toMatchObject({
        code: 'attachment_too_large',
        message: `the attachments add up to more than ${limit} bytes, the most this server takes per message`,
        retryable: false,
      });
      client.send(userMessage('m3', 'still there?'));
      await client.waitFor('llm_complete', (m) => m.data.requestId === 'm3');
    },
  );

  it('refuses remote URLs with attachmentUrls: false, and malformed attachments as invalid_message', async () => {
    await loopback.start({ attachmentUrls: false });
    const client = await loopback.connect();
    send(client, 'm1', 'look', [{ mediaType: 'image/png', url: 'https://example.com/a.png' }]);
    expect((await client.waitFor('error', (m) => m.data.requestId === 'm1')).data.code).toBe('unsupported_attachment');
    for (const [id, attachments] of [
      ['m2', [{ mediaType: 'image/png', data: 'AAAA', url: 'https://example.com/a.png' }]],
      ['m3', [{ mediaType: 'image/png' }]],
      ['m4', Array.from({ length: 17 }, () => ({ mediaType: 'image/png', data: 'AAAA' }))],
      ['m5', [{ mediaType: 42, data: 'AAAA' }]],
      ['m6', 'not a list'],
    ] as const) {
      send(client, id, 'look', attachments);
      expect((await client.waitFor('error', (m) => m.data.requestId === id)).data.code).toBe('invalid_message');
    }
    expect(loopback.upstream.requests).toHaveLength(0);
  });

  it('WSClient.sendMessage sends attachments', async () => {
    await loopback.start();
    const client = new WSClient({ url: loopback.server?.url as string });
    try {
      await client.connect();
      await client.sendMessage('see', { attachments: [{ mediaType: 'image/png', data: PNG, name: 'dot.png' }] });
      expect(await userContentOf(0)).toEqual([
        { type: 'text', text: 'see' },
        { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } },
      ]);
    } finally {
      client.disconnect();
    }
  });
});
