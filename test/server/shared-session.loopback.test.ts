import type { ServerMessage } from '../../src/protocol/codecs';
import { useLoopbackServer } from '../utils/loopback-server';
import { seqsOf, type TestClient, userMessage } from '../utils/ws-test-client';

/**
 * One conversation on several connections (`resume` with `share: true`), over real sockets: each
 * gets the whole stream once and in order, any may send, each acknowledges for itself, and a
 * resume without `share` still takes the session over from all of them.
 */
const loopback = useLoopbackServer();

const chunksOf = (messages: readonly ServerMessage[], requestId: string): string =>
  messages.flatMap((m) => (m.type === 'llm_chunk' && m.data.requestId === requestId ? [m.data.chunk] : [])).join('');

/** The stream's messages a client got (those with a seq), each seq once and in order. */
function expectWholeStream(client: TestClient, from = 1): void {
  const seqs = seqsOf(client.received);
  expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => from + i));
}

async function join(sessionId: string, resumeToken: string, lastSeq: number, share = true): Promise<TestClient> {
  const client = await loopback.connect();
  client.send({
    type: 'resume',
    id: 'join',
    data: { sessionId, resumeToken, lastSeq, ...(share ? { share: true } : {}) },
  });
  return client;
}

describe('shared sessions over loopback', () => {
  it('streams every chunk to each connection once, in order; any of them may send; a resume without share takes over from all', async () => {
    await loopback.start();
    const words = Array.from({ length: 60 }, (_, i) => `w${i} `);
    loopback.upstream.enqueue(
      { type: 'text', chunks: words, delayMs: 1 },
      { type: 'text', chunks: ['second ', 'answer'] },
    );
    const first = await loopback.connect();
    const { sessionId, resumeToken } = (await first.waitFor('session')).data;
    const second = await join(sessionId, resumeToken, 0);
    await second.waitFor('session', (m) => m.data.resumed === true);
    first.send(userMessage('m1', 'count'));
    await Promise.all(
      [first, second].map((client) => client.waitFor('llm_complete', (m) => m.data.requestId === 'm1')),
    );
    for (const client of [first, second]) {
      expect(chunksOf(client.received, 'm1')).toBe(words.join(''));
      expectWholeStream(client);
    }
    // The other connection asks; both see the answer.
    second.send(userMessage('m2', 'again'));
    await Promise.all(
      [first, second].map((client) =>
        client.waitFor('status', (m) => m.data.requestId === 'm2' && m.data.status === 'idle'),
      ),
    );
    for (const client of [first, second]) {
      expect(chunksOf(client.received, 'm2')).toBe('second answer');
      expectWholeStream(client);
    }
    expect(seqsOf(first.received)).toEqual(seqsOf(second.received));
    expect(loopback.upstream.requests).toHaveLength(2);

    // A third connection, without share, takes the session over: the two others are closed 4409.
    const lastSeq = seqsOf(first.received).at(-1) as number;
    const third = await join(sessionId, resumeToken, lastSeq, false);
    await third.waitFor('session', (m) => m.data.resumed === true);
    expect((await first.closed).code).toBe(4409);
    expect((await second.closed).code).toBe(4409);
  });

  it('keeps in the replay log what the connection furthest behind has not acknowledged', async () => {
    await loopback.start();
    loopback.upstream.enqueue({ type: 'text', chunks: ['a ', 'b ', 'c'] });
    const first = await loopback.connect();
    const { sessionId, resumeToken } = (await first.waitFor('session')).data;
    const second = await join(sessionId, resumeToken, 0);
    await second.waitFor('session', (m) => m.data.resumed === true);
    first.send(userMessage('m1', 'abc'));
    await second.waitFor('status', (m) => m.data.requestId === 'm1' && m.data.status === 'idle');
    await first.waitFor('status', (m) => m.data.requestId === 'm1' && m.data.status === 'idle');
    const lastSeq = seqsOf(first.received).at(-1) as number;
    // Only the first acknowledges: the second still needs it all, so a joiner from 0 gets it all.
    first.send({ type: 'ping', id: 'p1', data: { lastSeq } });
    await first.waitFor('pong');
    const late = await join(sessionId, resumeToken, 0);
    await late.waitFor('session', (m) => m.data.resumed === true);
    expectWholeStream(late);
    expect(seqsOf(late.received).at(-1)).toBe(lastSeq);
    // Once every connection acknowledged, the log lets go: a joiner from 0 is told of the gap.
    for (const client of [second, late]) {
      client.send({ type: 'ping', id: 'p2', data: { lastSeq } });
      await client.waitFor('pong');
    }
    const tooLate = await join(sessionId, resumeToken, 0);
    expect((await tooLate.waitFor('error', (m) => m.data.requestId === 'join')).data.code).toBe('resume_gap');
    // Refusing the late joiner leaves the session to the others.
    loopback.upstream.enqueue({ type: 'text', chunks: ['still here'] });
    second.send(userMessage('m2', 'there?'));
    await first.waitFor('llm_complete', (m) => m.data.requestId === 'm2');
    expect(chunksOf(first.received, 'm2')).toBe('still here');
  });

  it('closes a connection that leaves, and the others go on; the session outlives them all', async () => {
    await loopback.start();
    loopback.upstream.enqueue({ type: 'text', chunks: ['one'] }, { type: 'text', chunks: ['two'] });
    const first = await loopback.connect();
    const { sessionId, resumeToken } = (await first.waitFor('session')).data;
    first.send(userMessage('m1', 'hi'));
    await first.waitFor('llm_complete');
    const second = await join(sessionId, resumeToken, 0);
    await second.waitFor('session', (m) => m.data.resumed === true);
    await first.close();
    second.send(userMessage('m2', 'still?'));
    expect((await second.waitFor('llm_complete', (m) => m.data.requestId === 'm2')).data.fullText).toBe('two');
    const lastSeq = seqsOf(second.received).at(-1) as number;
    await second.close();
    const back = await join(sessionId, resumeToken, lastSeq, false);
    expect((await back.waitFor('session', (m) => m.data.resumed === true)).data.sessionId).toBe(sessionId);
  });
});

describe('WSClient with share', () => {
  it("joins another client's session from its credentials: both see the reply, and neither is taken over", async () => {
    const { WSClient } = await import('../../src/client/node');
    const server = await loopback.start();
    loopback.upstream.enqueue({ type: 'text', chunks: ['Hello ', 'both'] });
    const first = new WSClient({ url: server.url as string, share: true, heartbeatInterval: 0 });
    const clients = [first];
    try {
      await first.connect();
      const second = new WSClient({
        url: server.url as string,
        share: true,
        session: first.session,
        heartbeatInterval: 0,
      });
      clients.push(second);
      await second.connect();
      expect(second.sessionId).toBe(first.sessionId);
      const seen: string[] = [];
      second.chunks$.subscribe(({ chunk }) => chunk && seen.push(chunk));
      const done = new Promise((resolve) => second.completions$.subscribe(resolve));
      expect((await first.sendMessage('hi')).fullText).toBe('Hello both');
      await done;
      expect(seen).toEqual(['Hello ', 'both']);
      expect(first.isConnected() && second.isConnected()).toBe(true);
    } finally {
      for (const client of clients) client.disconnect();
    }
  });
});

describe('refusals in a shared session, over loopback', () => {
  it('answers a refused frame to its sender alone, outside the stream: the other connection sees none of it', async () => {
    await loopback.start({ maxMessageLength: 100, concurrentMessages: 'reject' });
    loopback.upstream.enqueue({ type: 'text', chunks: ['slow ', 'answer'], delayMs: 50 });
    const first = await loopback.connect();
    const { sessionId, resumeToken } = (await first.waitFor('session')).data;
    const second = await join(sessionId, resumeToken, 0);
    await second.waitFor('session', (m) => m.data.resumed === true);
    first.send(userMessage('m1', 'go'));
    await second.waitFor('status', (m) => m.data.requestId === 'm1');
    // Each refused for a different reason, all from the second connection.
    second.send({ type: 'tool_approval', id: 'a1', data: { toolCallId: 'call_none', approved: true } });
    second.send(userMessage('m2', 'while busy'));
    second.send({ type: 'nonsense', id: 'n1' });
    second.send({ type: 'ping', id: 'p1' });
    const refused = await Promise.all(
      ['a1', 'm2', 'n1'].map((id) => second.waitFor('error', (m) => m.data.requestId === id)),
    );
    expect(refused.map((m) => [m.data.code, m.seq])).toEqual([
      ['unknown_tool_call', undefined],
      ['busy', undefined],
      ['unknown_type', undefined],
    ]);
    await second.waitFor('pong', (m) => m.data.requestId === 'p1');
    await first.waitFor('llm_complete', (m) => m.data.requestId === 'm1');
    second.send(userMessage('m3', 'x'.repeat(101)));
    const tooLong = await second.waitFor('error', (m) => m.data.requestId === 'm3');
    expect([tooLong.data.code, tooLong.seq]).toEqual(['message_too_long', undefined]);
    // The first connection's next ping is answered after everything above was handled.
    first.send({ type: 'ping', id: 'p2' });
    await first.waitFor('pong', (m) => m.data.requestId === 'p2');
    expect(
      first.received.filter((m) => m.type === 'error' || (m.type === 'pong' && m.data.requestId === 'p1')),
    ).toEqual([]);
    expectWholeStream(first);
    expectWholeStream(second);
  });
});
