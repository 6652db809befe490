/**
 * The stores are one contract: what a client sees of them through a server, run against each
 * store (memory, SQLite, PostgreSQL, Redis, Redis Cluster) by its own test file. What a store
 * cannot do by design is a capability it declares, and the suite checks what it answers instead.
 */
import { withoutIds } from '../utils/history';
import { WSClient } from '../../src/client/node';
import type { SessionStore } from '../../src/store';
import type { WSServer } from '../../src/server/ws-server';
import { createOpenAITestServer, type OpenAITestServer } from '../../src/testing/node';
import { startServerFor } from '../utils/test-server';
import { lastValueFrom } from 'rxjs';
import { waitUntilTrue } from '../utils/wait-until';
import { connectTestClient, type TestClient, userMessage } from '../utils/ws-test-client';

/** A store under test: `store()` opens one on the test's shared state (each server of a test gets one). */
export interface StoreUnderTest {
  readonly name: string;
  /** Before each test: fresh state (a file, a prefix, tables). */
  setUp(): Promise<void> | void;
  store(): SessionStore;
  /** After each test, once its servers stopped: the state is removed. */
  tearDown(): Promise<void> | void;
  /** Its sessions outlive the server process. */
  readonly durable: boolean;
  /** It lists conversations (else `conversations_unsupported`). */
  readonly conversations: boolean;
  /** A reply cut by a stop comes back as `interrupted` (else the error `reply_interrupted`). */
  readonly keepsInterruptedText: boolean;
  /**
   * For a store of live coordination over durable records (Redis over PostgreSQL): loses every
   * live state, as a Redis restarted empty does. The records must bring the sessions back.
   */
  readonly loseLiveState?: () => Promise<void>;
}

/** Registers the conformance tests of `subject` in the calling file. */
export function storeConformance(subject: StoreUnderTest): void {
  let upstream: OpenAITestServer;
  let servers: WSServer[] = [];
  let sockets: TestClient[] = [];
  let clients: WSClient[] = [];

  const start = async (): Promise<WSServer> => {
    const server = await startServerFor(upstream, { store: subject.store() });
    servers.push(server);
    return server;
  };
  const stop = async (server: WSServer): Promise<void> => {
    servers = servers.filter((s) => s !== server);
    await server.stop();
  };
  const socket = async (server: WSServer): Promise<TestClient> => {
    const client = await connectTestClient(server.url as string);
    sockets.push(client);
    await client.waitFor('session');
    return client;
  };
  const client = async (server: WSServer): Promise<WSClient> => {
    const c = new WSClient({ url: server.url as string, reconnectAttempts: 5, reconnectDelay: 20 });
    clients.push(c);
    await c.connect();
    return c;
  };

  beforeEach(async () => {
    upstream = await createOpenAITestServer();
    await subject.setUp();
  });
  afterEach(async () => {
    for (const c of clients) c.disconnect();
    clients = [];
    await Promise.all(sockets.map((s) => s.close()));
    sockets = [];
    await Promise.all(servers.map((server) => server.stop()));
    servers = [];
    await upstream.close();
    await subject.tearDown();
  }, 30_000);

  describe(`store conformance: ${subject.name}`, () => {
    it('resumes a session on a new connection with the frames it missed and its history', async () => {
      const server = await start();
      const first = await socket(server);
      const { sessionId, resumeToken } = first.received[0]?.data as { sessionId: string; resumeToken: string };
      upstream.enqueue({ type: 'text', chunks: ['a ', 'b ', 'c'] });
      first.send(userMessage('q1', 'letters'));
      const chunk = await first.waitFor('llm_chunk', (m) => m.data.chunk === 'a ');
      await first.waitFor('status', (m) => m.data.status === 'idle');
      const second = await socket(server);
      second.send({ type: 'resume', id: 'r1', data: { sessionId, resumeToken, lastSeq: chunk.seq as number } });
      await second.waitFor('session', (m) => m.data.resumed === true);
      expect(second.forRequest('q1').flatMap((m) => (m.type === 'llm_chunk' ? [m.data.chunk] : []))).toEqual([
        'b ',
        'c',
        '',
      ]);
      second.send({ type: 'control', id: 'h1', data: { type: 'get_history' } });
      expect(withoutIds((await second.waitFor('history')).data.messages)).toEqual([
        { role: 'user', content: 'letters' },
        { role: 'assistant', content: 'a b c' },
      ]);
    });

    it('refuses a resume with a wrong token', async () => {
      const server = await start();
      const first = await socket(server);
      const { sessionId } = first.received[0]?.data as { sessionId: string };
      upstream.enqueue({ type: 'text', chunks: ['x'] });
      first.send(userMessage('q1', 'hi'));
      await first.waitFor('status', (m) => m.data.status === 'idle');
      const second = await socket(server);
      second.send({ type: 'resume', id: 'r1', data: { sessionId, resumeToken: 'wrong', lastSeq: 0 } });
      expect((await second.closed).code).toBe(4403);
    });

    (subject.durable ? it : it.skip)('keeps a conversation across a restart of the server', async () => {
      const first = await start();
      const s = await socket(first);
      const { sessionId, resumeToken } = s.received[0]?.data as { sessionId: string; resumeToken: string };
      upstream.enqueue({ type: 'text', chunks: ['kept'] });
      s.send(userMessage('q1', 'remember'));
      const idle = await s.waitFor('status', (m) => m.data.status === 'idle');
      await stop(first);
      const second = await start();
      const again = await socket(second);
      again.send({ type: 'resume', id: 'r1', data: { sessionId, resumeToken, lastSeq: idle.seq as number } });
      await again.waitFor('session', (m) => m.data.resumed === true);
      again.send({ type: 'control', id: 'h1', data: { type: 'get_history' } });
      expect(withoutIds((await again.waitFor('history')).data.messages)).toEqual([
        { role: 'user', content: 'remember' },
        { role: 'assistant', content: 'kept' },
      ]);
    });

    it(
      subject.conversations
        ? 'lists, opens, renames and deletes conversations'
        : 'answers conversation requests with conversations_unsupported',
      async () => {
        const server = await start();
        const c = await client(server);
        upstream.enqueue({ type: 'text', chunks: ['yes'] });
        const { usage } = await c.sendMessage('Is this kept?');
        const id = c.sessionId as string;
        const other = await client(server);
        if (!subject.conversations) {
          await expect(other.listConversations()).rejects.toMatchObject({ code: 'conversations_unsupported' });
          return;
        }
        const { conversations } = await other.listConversations();
        expect(usage).toBeDefined();
        expect(conversations).toEqual([
          expect.objectContaining({ id, title: 'Is this kept?', messageCount: 2, usage }),
        ]);
        expect(withoutIds(await other.openConversation(id))).toEqual([
          { role: 'user', content: 'Is this kept?' },
          { role: 'assistant', content: 'yes' },
        ]);
        await other.renameConversation(id, 'Kept');
        expect((await other.listConversations()).conversations[0]?.title).toBe('Kept');
        await other.deleteConversation(id);
        // `other` was on it: it goes on in a new session; `c` was closed (4410) and resumes into a new one.
        expect(other.sessionId).not.toBe(id);
        await waitUntilTrue(() => c.isConnected() && c.sessionId !== id);
        expect((await c.listConversations()).conversations).toEqual([]);
        await expect(c.openConversation(id)).rejects.toMatchObject({ code: 'conversation_not_found' });
      },
    );

    (subject.conversations ? it : it.skip)('lists a conversation with its usage summed over its replies', async () => {
      const server = await start();
      const c = await client(server);
      upstream.enqueue({ type: 'text', chunks: ['one'], cachedTokens: 1 });
      const first = (await c.sendMessage('first question')).usage;
      upstream.enqueue({ type: 'text', chunks: ['two', ' more'] });
      const second = (await c.sendMessage('second question')).usage;
      if (!first || !second) throw new Error('the replies reported no usage');
      const total = {
        promptTokens: first.promptTokens + second.promptTokens,
        completionTokens: first.completionTokens + second.completionTokens,
        totalTokens: first.totalTokens + second.totalTokens,
        cachedTokens: 1,
      };
      expect((await c.listConversations()).conversations).toEqual([expect.objectContaining({ usage: total })]);
    });

    (subject.durable && subject.conversations ? it : it.skip)(
      'keeps the usage total of a conversation across a restart, and adds to it',
      async () => {
        const first = await start();
        const c = await client(first);
        upstream.enqueue({ type: 'text', chunks: ['before'] });
        const before = (await c.sendMessage('before the restart')).usage;
        const id = c.sessionId as string;
        c.disconnect();
        await stop(first);
        const second = await start();
        const other = await client(second);
        expect((await other.listConversations()).conversations).toEqual([
          expect.objectContaining({ id, usage: before }),
        ]);
        await other.openConversation(id);
        upstream.enqueue({ type: 'text', chunks: ['after', ' it'] });
        const after = (await other.sendMessage('after the restart')).usage;
        if (!before || !after) throw new Error('the replies reported no usage');
        expect((await other.listConversations()).conversations).toEqual([
          expect.objectContaining({
            id,
            usage: {
              promptTokens: before.promptTokens + after.promptTokens,
              completionTokens: before.completionTokens + after.completionTokens,
              totalTokens: before.totalTokens + after.totalTokens,
            },
          }),
        ]);
      },
    );

    (subject.durable ? it : it.skip)('ends a reply cut by a stop when the session is resumed', async () => {
      const first = await start();
      const s = await socket(first);
      const { sessionId, resumeToken } = s.received[0]?.data as { sessionId: string; resumeToken: string };
      upstream.enqueue({ type: 'stall', chunks: ['half '] });
      s.send(userMessage('q1', 'story'));
      const seen = await s.waitFor('llm_chunk', (m) => m.data.chunk === 'half ');
      await stop(first);
      const second = await start();
      const again = await socket(second);
      again.send({ type: 'resume', id: 'r1', data: { sessionId, resumeToken, lastSeq: seen.seq as number } });
      await again.waitFor('session', (m) => m.data.resumed === true);
      if (subject.keepsInterruptedText) {
        expect((await again.waitFor('llm_complete', (m) => m.data.requestId === 'q1')).data).toMatchObject({
          fullText: 'half ',
          finishReason: 'interrupted',
        });
      } else {
        expect((await again.waitFor('error', (m) => m.data.requestId === 'q1')).data.code).toBe('reply_interrupted');
      }
      upstream.enqueue({ type: 'text', chunks: ['on'] });
      again.send(userMessage('q2', 'go on'));
      expect((await again.waitFor('llm_complete', (m) => m.data.requestId === 'q2')).data.fullText).toBe('on');
    });

    (subject.durable ? it : it.skip)(
      'keeps the branches of a conversation across a restart (and a lost live state)',
      async () => {
        const first = await start();
        const c = await client(first);
        upstream.enqueue({ type: 'text', chunks: ['one'] });
        const original = await c.sendMessage('q1');
        upstream.enqueue({ type: 'text', chunks: ['two'] });
        const edited = await lastValueFrom(c.editMessage(original.userMessageId as string, 'q1 edited'));
        if (edited.type !== 'llm_complete') throw new Error(`the edit's reply ended with ${edited.type}`);
        const id = c.sessionId as string;
        c.disconnect();
        await stop(first);
        await subject.loseLiveState?.();
        const second = await start();
        const other = await client(second);
        await other.openConversation(id);
        const opened = await other.getHistory();
        expect(opened.map((m) => [m.role, m.content])).toEqual([
          ['user', 'q1 edited'],
          ['assistant', 'two'],
        ]);
        expect(opened[0]?.siblingIds).toEqual([original.userMessageId, edited.data.userMessageId]);
        const back = await other.switchBranch(original.userMessageId as string);
        expect(back.map((m) => [m.role, m.content])).toEqual([
          ['user', 'q1'],
          ['assistant', 'one'],
        ]);
        // The model sees the active path.
        upstream.enqueue({ type: 'text', chunks: ['three'] });
        await other.sendMessage('q2');
        const sent = (await upstream.request(2)).body.messages as Array<{ role: string; content: string }>;
        expect(sent.filter((m) => m.role !== 'system').map((m) => m.content)).toEqual(['q1', 'one', 'q2']);
      },
    );

    const { loseLiveState } = subject;
    (loseLiveState ? it : it.skip)(
      'brings a session back from its records once the live state is lost, a cut reply kept as interrupted',
      async () => {
        const first = await start();
        const s = await socket(first);
        const { sessionId, resumeToken } = s.received[0]?.data as { sessionId: string; resumeToken: string };
        upstream.enqueue({ type: 'stall', chunks: ['half '] });
        s.send(userMessage('q1', 'story'));
        const seen = await s.waitFor('llm_chunk', (m) => m.data.chunk === 'half ');
        await stop(first);
        await loseLiveState?.();
        const second = await start();
        const again = await socket(second);
        // The client saw more than was stored (frames lost with the process): still accepted.
        const lastSeq = (seen.seq as number) + 5;
        again.send({ type: 'resume', id: 'r1', data: { sessionId, resumeToken, lastSeq } });
        await again.waitFor('session', (m) => m.data.resumed === true);
        expect((await again.waitFor('llm_complete', (m) => m.data.requestId === 'q1')).data).toMatchObject({
          fullText: 'half ',
          finishReason: 'interrupted',
        });
        // It is given the history as stored, seqs going on after what it saw.
        const history = await again.waitFor('history');
        expect(history.seq).toBeGreaterThan(lastSeq);
        expect(withoutIds(history.data.messages)).toEqual([
          { role: 'user', content: 'story' },
          { role: 'assistant', content: 'half ', finishReason: 'interrupted' },
        ]);
        upstream.enqueue({ type: 'text', chunks: ['on'] });
        again.send(userMessage('q2', 'go on'));
        expect((await again.waitFor('llm_complete', (m) => m.data.requestId === 'q2')).data.fullText).toBe('on');
      },
    );

    (loseLiveState && subject.conversations ? it : it.skip)(
      'lists, opens, renames and deletes a conversation once the live state is lost',
      async () => {
        const first = await start();
        const c = await client(first);
        upstream.enqueue({ type: 'text', chunks: ['kept'] });
        await c.sendMessage('Survives?');
        const id = c.sessionId as string;
        c.disconnect();
        await stop(first);
        await loseLiveState?.();
        const second = await start();
        const other = await client(second);
        expect((await other.listConversations()).conversations).toEqual([
          expect.objectContaining({ id, title: 'Survives?', messageCount: 2 }),
        ]);
        expect(withoutIds(await other.openConversation(id))).toEqual([
          { role: 'user', content: 'Survives?' },
          { role: 'assistant', content: 'kept' },
        ]);
        upstream.enqueue({ type: 'text', chunks: ['still here'] });
        expect((await other.sendMessage('And now?')).fullText).toBe('still here');
        await other.renameConversation(id, 'Survived');
        // Lost again: the rename and the new message were kept in the records too.
        await loseLiveState?.();
        const third = await client(second);
        expect((await third.listConversations()).conversations).toEqual([
          expect.objectContaining({ id, title: 'Survived', messageCount: 4 }),
        ]);
        await third.deleteConversation(id);
        expect((await third.listConversations()).conversations).toEqual([]);
        await expect(third.openConversation(id)).rejects.toMatchObject({ code: 'conversation_not_found' });
      },
    );
  });
}
