/**
 * Edit, regenerate and switch branches over real sockets, with WSClient against WSServer and the
 * OpenAI-compatible test server (which echoes the last user message): on the memory store, and on
 * the shared Redis store, where another server resumes the conversation with its branches.
 */
import { WSClient } from '../../src/client/node';
import type { HistoryMessage } from '../../src/protocol/codecs';
import type { WSServer } from '../../src/server/ws-server';
import { redisStore } from '../../src/store/redis';
import { createOpenAITestServer, type OpenAITestServer } from '../../src/testing/node';
import { isolatedRedisKeys, TEST_REDIS_URL } from '../utils/redis';
import { startServerFor } from '../utils/test-server';

let upstream: OpenAITestServer;
const keys = isolatedRedisKeys();
let servers: WSServer[] = [];
const clients: WSClient[] = [];

beforeEach(async () => {
  upstream = await createOpenAITestServer();
});

afterEach(async () => {
  for (const client of clients.splice(0)) client.disconnect();
  await Promise.all(servers.splice(0).map((server) => server.stop()));
  await upstream.close();
});

async function start(redis: boolean): Promise<WSServer> {
  const server = await startServerFor(
    upstream,
    redis ? { store: redisStore({ url: TEST_REDIS_URL, prefix: keys.prefix }) } : {},
  );
  servers.push(server);
  return server;
}

async function client(server: WSServer, session?: { sessionId: string; resumeToken: string }): Promise<WSClient> {
  const made = new WSClient({ url: server.url as string, heartbeatInterval: 0, ...(session ? { session } : {}) });
  clients.push(made);
  await made.connect();
  return made;
}

/** The active path as `role:content`, with `(n/N)` on a message that has siblings. */
const shown = (messages: readonly HistoryMessage[]): string[] =>
  messages.map((m) => {
    const branch = m.siblingIds ? ` (${m.siblingIds.indexOf(m.id as string) + 1}/${m.siblingIds.length})` : '';
    return `${m.role}:${m.content}${branch}`;
  });

/** What the model was sent in its `index`-th request, as `role:content`. */
const prompt = async (index: number): Promise<string[]> =>
  ((await upstream.request(index)).body.messages as Array<{ role: string; content: string }>)
    .filter((m) => m.role !== 'system')
    .map((m) => `${m.role}:${m.content}`);

describe.each([
  ['the memory store', false],
  ['the Redis store', true],
])('branches on %s', (_name, redis) => {
  it('regenerate and edit make branches; the model sees the active path; switchBranch goes back; ids are stable', async () => {
    const server = await start(redis);
    const chat = await client(server);
    const first = await chat.sendMessage('q1');
    expect(first).toMatchObject({ messageId: expect.any(String), userMessageId: expect.any(String) });
    const second = await chat.sendMessage('q2');
    const again = await lastValue(chat.regenerate());
    expect(again.userMessageId).toBe(second.userMessageId);
    expect(await prompt(2)).toEqual(['user:q1', 'assistant:You said: q1', 'user:q2']);
    let history = await chat.getHistory();
    expect(shown(history)).toEqual(['user:q1', 'assistant:You said: q1', 'user:q2', 'assistant:You said: q2 (2/2)']);
    expect(history.map((m) => m.id)).toEqual([
      first.userMessageId,
      first.messageId,
      second.userMessageId,
      again.messageId,
    ]);

    const edited = await lastValue(chat.editMessage(second.userMessageId as string, 'q2 edited'));
    expect(await prompt(3)).toEqual(['user:q1', 'assistant:You said: q1', 'user:q2 edited']);
    history = await chat.getHistory();
    expect(shown(history)).toEqual([
      'user:q1',
      'assistant:You said: q1',
      'user:q2 edited (2/2)',
      'assistant:You said: q2 edited',
    ]);
    expect(history[2]?.siblingIds).toEqual([second.userMessageId, edited.userMessageId]);

    // Back to the first version of q2, down to its newest answer (the regenerated one).
    history = await chat.switchBranch(second.userMessageId as string);
    expect(shown(history)).toEqual([
      'user:q1',
      'assistant:You said: q1',
      'user:q2 (1/2)',
      'assistant:You said: q2 (2/2)',
    ]);
    await chat.sendMessage('q3');
    expect(await prompt(4)).toEqual([
      'user:q1',
      'assistant:You said: q1',
      'user:q2',
      'assistant:You said: q2',
      'user:q3',
    ]);
    await expect(chat.switchBranch('no-such-id')).rejects.toMatchObject({ code: 'invalid_message' });
  });

  if (redis) {
    it('another server resumes the conversation with its branches and active path (persisted through historyChanged)', async () => {
      const a = await start(true);
      const b = await start(true);
      const chat = await client(a);
      await chat.sendMessage('q1');
      const original = await lastValue(chat.regenerate());
      const session = chat.session as { sessionId: string; resumeToken: string };
      chat.disconnect();
      await a.stop();
      servers = servers.filter((server) => server !== a);
      const elsewhere = await client(b, session);
      const history = await elsewhere.getHistory();
      expect(shown(history)).toEqual(['user:q1', 'assistant:You said: q1 (2/2)']);
      expect(history[1]?.id).toBe(original.messageId);
      const back = await elsewhere.switchBranch(history[1]?.siblingIds?.[0] as string);
      expect(shown(back)).toEqual(['user:q1', 'assistant:You said: q1 (1/2)']);
      await elsewhere.sendMessage('q2');
      expect(shown(await elsewhere.getHistory()).slice(-2)).toEqual(['user:q2', 'assistant:You said: q2']);
    });
  }
});

/** The `llm_complete` data a reply ends with. */
async function lastValue(reply: ReturnType<WSClient['send']>): Promise<{ messageId?: string; userMessageId?: string }> {
  const { lastValueFrom } = await import('rxjs');
  const last = await lastValueFrom(reply);
  if (last.type !== 'llm_complete') throw new Error(`the reply ended with ${last.type}`);
  return last.data;
}
