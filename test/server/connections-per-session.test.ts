import { useLoopbackServer } from '../utils/loopback-server';
import type { TestClient } from '../utils/ws-test-client';

/** `maxConnectionsPerSession`: tabs sharing one session are bounded; a join past it is closed with 4429. */
const loopback = useLoopbackServer();

const join = (client: TestClient, session: { sessionId: string; resumeToken: string }, share = true): void =>
  client.send({ type: 'resume', id: 'r', data: { ...session, lastSeq: 0, share } });

describe('maxConnectionsPerSession', () => {
  it('closes a shared resume past the limit with 4429; a takeover, or a join once a tab closed, still works', async () => {
    await loopback.start({ maxConnectionsPerSession: 3 });
    const owner = await loopback.connect();
    const { sessionId, resumeToken } = (await owner.waitFor('session')).data;
    const tabs = [owner];
    for (let i = 0; i < 2; i++) {
      const tab = await loopback.connect();
      join(tab, { sessionId, resumeToken });
      await tab.waitFor('session', (m) => m.data.resumed === true);
      tabs.push(tab);
    }
    const fourth = await loopback.connect();
    join(fourth, { sessionId, resumeToken });
    expect(await fourth.closed).toEqual({
      code: 4429,
      reason: 'the session has 3 connections, the most it takes: close one',
    });
    // The tabs on it go on: a reply reaches all three.
    loopback.upstream.enqueue({ type: 'text', chunks: ['hi'] });
    owner.send({ type: 'user_message', id: 'm1', data: { text: 'hello' } });
    for (const tab of tabs) expect((await tab.waitFor('llm_complete')).data.fullText).toBe('hi');

    await (tabs.pop() as TestClient).close();
    const fifth = await loopback.connect();
    join(fifth, { sessionId, resumeToken });
    await fifth.waitFor('session', (m) => m.data.resumed === true);
    // A takeover replaces the connections: never refused for their number.
    const takeover = await loopback.connect();
    join(takeover, { sessionId, resumeToken }, false);
    await takeover.waitFor('session', (m) => m.data.resumed === true);
  });

  it('refuses a value that is not a whole number of at least 1', async () => {
    await expect(loopback.start({ maxConnectionsPerSession: 0 })).rejects.toThrow(/maxConnectionsPerSession/);
  });
});
