/**
 * The last odd inputs a hostile client may send, over real sockets: each is answered with a
 * stable error code, costs the client nothing it may still resume, and is rate limited like
 * any other frame.
 */
import type { ServerMessage } from '../../src/protocol/codecs';
import { useLoopbackServer } from '../utils/loopback-server';
import { sessionGreeting, type TestClient, userMessage } from '../utils/ws-test-client';

const loopback = useLoopbackServer();

const errorsOf = (client: TestClient): Array<Extract<ServerMessage, { type: 'error' }>> =>
  client.received.filter((m): m is Extract<ServerMessage, { type: 'error' }> => m.type === 'error');

/** A session with one answered message (seq 1 to 5), and the credentials to resume it. */
async function sessionWithOneReply(): Promise<{ sessionId: string; resumeToken: string; lastSeq: number }> {
  const first = await loopback.connect();
  const { sessionId, resumeToken } = sessionGreeting(first);
  loopback.upstream.enqueue({ type: 'text', chunks: ['one'] });
  first.send(userMessage('q1', 'hello'));
  const idle = await first.waitFor('status', (m) => m.data.requestId === 'q1' && m.data.status === 'idle');
  await first.close();
  return { sessionId, resumeToken, lastSeq: idle.seq as number };
}

describe('resume with a lastSeq the session never had', () => {
  it.each([
    ['below 0', () => -5, /data\.lastSeq: expected a whole number of 0 or more, at most 2\^53 - 1, got -5/],
    ['not whole', () => 1.5, /data\.lastSeq: expected a whole number of 0 or more/],
    [
      'above the seq the session reached',
      (reached: number) => reached + 1,
      /lastSeq \d+ is past the last message of session .*\(\d+\)/,
    ],
  ])('is refused as invalid_message when %s, and the session stays resumable', async (_name, badSeq, message) => {
    await loopback.start();
    const { sessionId, resumeToken, lastSeq } = await sessionWithOneReply();

    const forger = await loopback.connect();
    forger.send({ type: 'resume', id: 'r-bad', data: { sessionId, resumeToken, lastSeq: badSeq(lastSeq) } });
    const refused = await forger.waitFor('error', (m) => m.data.requestId === 'r-bad');
    expect(refused.data).toMatchObject({ code: 'invalid_message', retryable: false });
    expect(refused.data.message).toMatch(message);

    const honest = await loopback.connect();
    honest.send({ type: 'resume', id: 'r-ok', data: { sessionId, resumeToken, lastSeq: 0 } });
    const resumed = await honest.waitFor('session', (m) => m.data.requestId === 'r-ok');
    expect(resumed.data).toMatchObject({ sessionId, resumed: true, lastSeq });
    expect(honest.received.filter((m) => m.seq !== undefined).map((m) => m.seq)).toEqual(
      Array.from({ length: lastSeq }, (_, i) => i + 1),
    );
  });
});

describe('resume as the first message only', () => {
  it('refuses a resume after a ping as invalid_message, and the session stays resumable', async () => {
    await loopback.start();
    const { sessionId, resumeToken, lastSeq } = await sessionWithOneReply();

    const late = await loopback.connect();
    late.send({ type: 'ping', id: 'p1' });
    await late.waitFor('pong');
    late.send({ type: 'resume', id: 'r-late', data: { sessionId, resumeToken, lastSeq } });
    const refused = await late.waitFor('error', (m) => m.data.requestId === 'r-late');
    expect(refused.data).toMatchObject({
      code: 'invalid_message',
      message: 'resume must be the first message on a connection',
    });

    const prompt = await loopback.connect();
    prompt.send({ type: 'resume', id: 'r-first', data: { sessionId, resumeToken, lastSeq } });
    expect((await prompt.waitFor('session', (m) => m.data.requestId === 'r-first')).data).toMatchObject({
      sessionId,
      resumed: true,
    });
  });
});

describe('binary frames', () => {
  it('count against the rate limit like text frames', async () => {
    await loopback.start({ rateLimit: { ratePerSecond: 10, burst: 20 } });
    const flooder = await loopback.connect();
    const frames = 500;
    for (let i = 0; i < frames; i++) flooder.sendRaw(Buffer.from([1, 2, 3]), { binary: true });
    // Every frame gets exactly one answer: wait for all of them.
    await flooder.waitFor('error', () => errorsOf(flooder).length >= frames, 20_000);
    const codes = errorsOf(flooder).map((m) => m.data.code);
    const unsupported = codes.filter((code) => code === 'unsupported_frame').length;
    // The burst, plus what refilled while the frames arrived (at 10 a second).
    expect(unsupported).toBeGreaterThanOrEqual(20);
    expect(unsupported).toBeLessThan(frames / 2);
    expect(codes.filter((code) => code === 'rate_limited')).toHaveLength(frames - unsupported);
  }, 30_000);
});

describe('deeply nested frames', () => {
  it('answers 100,000 nested arrays with invalid_message, and the connection goes on', async () => {
    await loopback.start();
    const client = await loopback.connect();
    client.sendRaw('['.repeat(100_000) + ']'.repeat(100_000));
    client.sendRaw(`{"type":"ping","id":"deep","data":{"lastSeq":${'['.repeat(100_000)}${']'.repeat(100_000)}}}`);
    const top = await client.waitFor('error', (m) => m.data.code !== undefined && m.data.requestId === undefined);
    expect(top.data).toMatchObject({ code: 'invalid_message', retryable: false });
    const inner = await client.waitFor('error', (m) => m.data.requestId === 'deep');
    expect(inner.data).toMatchObject({ code: 'invalid_message' });
    expect(inner.data.message).toMatch(
      /^data\.lastSeq: expected a whole number of 0 or more, at most 2\^53 - 1, got \[\[\[/,
    );
    client.send({ type: 'ping', id: 'after' });
    await client.waitFor('pong', (m) => m.data.requestId === 'after');
  });
});
