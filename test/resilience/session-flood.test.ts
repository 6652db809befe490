import { createOpenAITestServer, type OpenAITestServer } from '../../src/testing/node';
import type { WSServer } from '../../src/server/ws-server';
import { startServerFor } from '../utils/test-server';
import { connectTestClient, type TestClient, userMessage } from '../utils/ws-test-client';
import { waitUntilTrue } from '../utils/wait-until';

const BUDGET_BYTES = 8 * 1024 * 1024;
const MAX_SESSIONS = 12;
const BIG_TEXT = 'x'.repeat(99_000);

/**
 * Abandoned sessions: many clients connect, say a lot, and leave. The server holds them for a
 * resume only within its session budget, dropping the least recently used first, and refuses
 * new sessions (1013) once only connected ones are left; a neighbour is served throughout.
 */
describe('a flood of abandoned sessions', () => {
  let upstream: OpenAITestServer;
  let server: WSServer;
  const clients: TestClient[] = [];
  const unhandled: unknown[] = [];
  const onUnhandled = (error: unknown): void => {
    unhandled.push(error);
  };

  const connect = async (): Promise<TestClient> => {
    const client = await connectTestClient(server.url as string);
    clients.push(client);
    return client;
  };

  /** Sends a user_message and resolves with the reply's text. */
  const ask = async (client: TestClient, id: string, text: string): Promise<string> => {
    client.send(userMessage(id, text));
    return (await client.waitFor('llm_complete', (m) => m.data.requestId === id, 15_000)).data.fullText;
  };

  beforeEach(async () => {
    process.on('uncaughtException', onUnhandled);
    process.on('unhandledRejection', onUnhandled);
    upstream = await createOpenAITestServer();
    server = await startServerFor(upstream, {
      maxSessions: MAX_SESSIONS,
      sessionMemoryBudgetBytes: BUDGET_BYTES,
      rateLimit: false,
    });
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
    await server.stop();
    await upstream.close();
    process.off('uncaughtException', onUnhandled);
    process.off('unhandledRejection', onUnhandled);
  });

  /** Resolves once the server no longer has a connection on session `sessionId` (detached, or ended). */
  const serverLetGo = (sessionId: string): Promise<void> =>
    waitUntilTrue(
      () => !server.getActiveSessions().some((session) => session.sessionId === sessionId && session.connected),
      10_000,
      5,
    );

  /** One abandoned session: connect, three large messages, close. Returns how to resume it. */
  const abandonOne = async (): Promise<{ sessionId: string; resumeToken: string; lastSeq: number }> => {
    const client = await connect();
    const greeting = await client.waitFor('session');
    let lastSeq = 0;
    for (const n of [1, 2, 3]) {
      client.send(userMessage(`m${n}`, BIG_TEXT));
      const idle = await client.waitFor(
        'status',
        (m) => m.data.requestId === `m${n}` && m.data.status === 'idle',
        15_000,
      );
      lastSeq = idle.seq as number;
    }
    await client.close();
    const { sessionId, resumeToken } = greeting.data;
    // The client saw its socket close; the server may not have yet (its 'close' is another event):
    // the budget is applied when it detaches the session, so wait for that, not for the client.
    await serverLetGo(sessionId);
    return { sessionId, resumeToken, lastSeq };
  };

  const resume = async (target: { sessionId: string; resumeToken: string; lastSeq: number }) => {
    const client = await connect();
    await client.waitFor('session');
    client.send({ type: 'resume', id: 'r', data: target });
    // The memory store answers a resume at once: by the pong, its answer is in.
    client.send({ type: 'ping', id: 'p' });
    await client.waitFor('pong');
    const answer = client.received.find(
      (m) => (m.type === 'session' && m.data.resumed) || (m.type === 'error' && m.data.requestId === 'r'),
    );
    return answer?.type === 'error' ? answer.data.code : answer?.type === 'session' ? 'resumed' : 'no answer';
  };

  it('keeps detached sessions within the budget, least recently used dropped first, and serves a neighbour', async () => {
    const neighbour = await connect();
    await neighbour.waitFor('session');
    const abandoned: Array<{ sessionId: string; resumeToken: string; lastSeq: number }> = [];
    // 4 concurrent loops of 6: 24 sessions of about 1.2 MB each, against a budget of 8 MiB.
    await Promise.all(
      [0, 1, 2, 3].map(async (loop) => {
        for (let i = 0; i < 6; i++) {
          abandoned.push(await abandonOne());
          if (loop === 0 && i === 2) {
            expect(await ask(neighbour, 'during', 'still there?')).toBe('You said: still there?');
          }
        }
      }),
    );
    expect(neighbour.forRequest('during').some((m) => m.type === 'llm_complete')).toBe(true);

    // Within budget: the sessions held are few, and their bytes fit.
    const held = server.getActiveSessions();
    expect(held.length).toBeLessThanOrEqual(MAX_SESSIONS);
    expect(held.reduce((sum, session) => sum + session.heldBytes, 0)).toBeLessThanOrEqual(BUDGET_BYTES);
    expect(Math.min(...held.map((session) => session.heldBytes))).toBeGreaterThan(0);
    expect(held.length).toBeLessThan(abandoned.length); // some were dropped for the budget
    expect(server.health().sessions).toBe(held.length);

    // The first abandoned session was dropped; the newest is still resumable.
    expect(await resume(abandoned[0] as (typeof abandoned)[number])).toBe('session_lost');
    expect(await resume(abandoned[abandoned.length - 1] as (typeof abandoned)[number])).toBe('resumed');

    expect(await ask(neighbour, 'after', 'and now?')).toBe('You said: and now?');
    expect(unhandled).toEqual([]);
  }, 60_000);

  it('refuses a new session with 1013 once only connected sessions are left, and takes one again when room is made', async () => {
    const neighbour = await connect();
    await neighbour.waitFor('session');
    const detached = await abandonOne();
    // Fill the count with connected sessions: detached ones are dropped to make room first.
    const connected: TestClient[] = [];
    while (connected.length < MAX_SESSIONS - 1) {
      const client = await connect();
      await client.waitFor('session');
      connected.push(client);
    }
    const refused = await connectTestClient(server.url as string);
    clients.push(refused);
    await expect(refused.closed).resolves.toEqual({
      code: 1013,
      reason: 'server at its session budget: try again later',
    });
    expect(refused.received).toEqual([]);

    // The neighbour is served while the server is full.
    expect(await ask(neighbour, 'full', 'full?')).toBe('You said: full?');

    // One leaves (it said nothing, so its session goes at once): a new client gets a session. The
    // detached session was dropped to make room for the connected ones.
    const leaving = connected.pop() as TestClient;
    const left = (await leaving.waitFor('session')).data.sessionId;
    await leaving.close();
    await serverLetGo(left);
    expect(await resume(detached)).toBe('session_lost');
    expect(unhandled).toEqual([]);
  }, 60_000);
});
