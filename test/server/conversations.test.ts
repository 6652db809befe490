/**
 * Conversations as a user sees them, through WSClient: listed per principal, opened by id
 * without a resume token, renamed, deleted; on the memory store and the SQLite store (after a
 * restart there).
 */
import { withoutIds } from '../utils/history';
import type { IncomingMessage } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lastValueFrom } from 'rxjs';
import { WSClient } from '../../src/client/node';
import { ServerError } from '../../src/errors';
import { presentedToken } from '../../src/server/auth';
import type { WSServer } from '../../src/server/ws-server';
import { memoryStore, type SessionStore } from '../../src/store';
import { sqliteStore } from '../../src/store/sqlite';
import { createOpenAITestServer, type OpenAITestServer } from '../../src/testing/node';
import { startServerFor } from '../utils/test-server';

let upstream: OpenAITestServer;
let dir: string;
let servers: WSServer[] = [];
let clients: WSClient[] = [];

const authenticate = (request: IncomingMessage): unknown => {
  const token = presentedToken(request);
  return token === 'alice' || token === 'bob' ? { user: token } : null;
};

async function start(store: SessionStore): Promise<WSServer> {
  const server = await startServerFor(upstream, { store, authenticate });
  servers.push(server);
  return server;
}

async function clientOf(server: WSServer, user: string): Promise<WSClient> {
  const client = new WSClient({ url: `${server.url as string}?token=${user}`, reconnectAttempts: 0 });
  clients.push(client);
  await client.connect();
  return client;
}

/** Says `text` on a new conversation of `client`, answered with `reply`. */
async function say(client: WSClient, text: string, reply: string): Promise<void> {
  upstream.enqueue({ type: 'text', chunks: [reply] });
  await client.sendMessage(text);
}

beforeEach(async () => {
  upstream = await createOpenAITestServer();
  dir = mkdtempSync(join(tmpdir(), 'llm-ws-conversations-'));
});
afterEach(async () => {
  for (const client of clients) client.disconnect();
  clients = [];
  await Promise.all(servers.map((server) => server.stop()));
  servers = [];
  await upstream.close();
  rmSync(dir, { recursive: true, force: true });
});

const stores: Array<[string, () => SessionStore]> = [
  ['memory', () => memoryStore()],
  ['sqlite', () => sqliteStore({ path: join(dir, 'db.sqlite') })],
];

describe.each(stores)('conversations on the %s store', (_name, store) => {
  it('lists, opens, renames and deletes the conversations of one principal only', async () => {
    const server = await start(store());
    const alice = await clientOf(server, 'alice');
    await say(alice, 'First question about cats', 'meow');
    const first = alice.sessionId as string;
    const bob = await clientOf(server, 'bob');
    await say(bob, 'Bob asks', 'yes');

    // A second conversation of Alice's, on a new connection.
    const again = await clientOf(server, 'alice');
    await say(again, 'Second one\nabout   dogs', 'woof');
    const second = again.sessionId as string;

    const page = await again.listConversations();
    expect(page.conversations.map((c) => c.id).sort()).toEqual([first, second].sort());
    expect(page.conversations.find((c) => c.id === second)).toMatchObject({
      title: 'Second one about dogs',
      messageCount: 2,
    });
    const byOne = await again.listConversations({ limit: 1 });
    expect(byOne.conversations).toHaveLength(1);
    const rest = await again.listConversations({ limit: 1, cursor: byOne.nextCursor as string });
    expect([...byOne.conversations, ...rest.conversations].map((c) => c.id).sort()).toEqual([first, second].sort());
    expect(rest.nextCursor).toBeUndefined();

    // Opening the first by id moves the client there: the next message continues it.
    expect(withoutIds(await again.openConversation(first))).toEqual([
      { role: 'user', content: 'First question about cats' },
      { role: 'assistant', content: 'meow' },
    ]);
    expect(again.sessionId).toBe(first);
    await say(again, 'and then?', 'purr');
    expect(upstream.requests.at(-1)?.body.messages.slice(-3)).toEqual([
      { role: 'user', content: 'First question about cats' },
      { role: 'assistant', content: 'meow' },
      { role: 'user', content: 'and then?' },
    ]);

    await again.renameConversation(first, 'Cats');
    expect((await again.listConversations()).conversations.find((c) => c.id === first)?.title).toBe('Cats');

    // Bob can neither open, rename nor delete Alice's.
    await expect(bob.openConversation(first)).rejects.toMatchObject({ code: 'conversation_not_found' });
    await expect(bob.renameConversation(first, 'mine')).rejects.toBeInstanceOf(ServerError);
    await expect(bob.deleteConversation(first)).rejects.toMatchObject({ code: 'conversation_not_found' });
    expect((await bob.listConversations()).conversations).toHaveLength(1);

    await alice.deleteConversation(second);
    expect((await alice.listConversations()).conversations.map((c) => c.id)).toEqual([first]);
    await expect(alice.openConversation(second)).rejects.toMatchObject({ code: 'conversation_not_found' });
  });

  it('answers open_conversation with the history as get_history does: siblingIds included', async () => {
    const server = await start(store());
    const alice = await clientOf(server, 'alice');
    await say(alice, 'Which cat?', 'the grey one');
    upstream.enqueue({ type: 'text', chunks: ['the black one'] });
    await lastValueFrom(alice.regenerate());
    const asked = await alice.getHistory();
    expect(asked.at(-1)).toMatchObject({
      content: 'the black one',
      siblingIds: [expect.any(String), expect.any(String)],
    });

    const other = await clientOf(server, 'alice');
    expect(await other.openConversation(alice.sessionId as string)).toEqual(asked);
  });
});

it('the SQLite store lists and opens conversations after a restart', async () => {
  const path = join(dir, 'db.sqlite');
  const first = await start(sqliteStore({ path }));
  const alice = await clientOf(first, 'alice');
  await say(alice, 'Remember me', 'I will');
  const id = alice.sessionId as string;
  alice.disconnect();
  await first.stop();
  servers = [];

  const second = await start(sqliteStore({ path }));
  const again = await clientOf(second, 'alice');
  expect((await again.listConversations()).conversations).toEqual([
    expect.objectContaining({ id, title: 'Remember me', messageCount: 2 }),
  ]);
  expect(withoutIds(await again.openConversation(id))).toEqual([
    { role: 'user', content: 'Remember me' },
    { role: 'assistant', content: 'I will' },
  ]);
  await say(again, 'Still there?', 'yes');
  expect(upstream.requests.at(-1)?.body.messages.slice(-2)).toEqual([
    { role: 'assistant', content: 'I will' },
    { role: 'user', content: 'Still there?' },
  ]);
});
