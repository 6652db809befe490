/**
 * The SQLite store (node:sqlite) in-process: conversations outlive the server, a reply cut by a
 * stop is kept as `interrupted`, and the user's message is on disk before the model is asked.
 */
import { activeHistory } from '../../src/core/ports';
import type { HistoryMessage } from '../../src/protocol/codecs';
import { withoutIds } from '../utils/history';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WSServer } from '../../src/server/ws-server';
import { sqliteStore } from '../../src/store/sqlite';
import { openDatabase } from '../../src/store/sqlite/node-sqlite';
import { createOpenAITestServer, type OpenAITestServer } from '../../src/testing/node';
import { gate, gatedProvider } from '../utils/gated-provider';
import { startServerFor } from '../utils/test-server';
import { connectTestClient, type TestClient, userMessage } from '../utils/ws-test-client';

let upstream: OpenAITestServer;
let dir: string;
let servers: WSServer[] = [];
let clients: TestClient[] = [];

const path = (): string => join(dir, 'llm-ws.sqlite');

async function start(options: Parameters<typeof startServerFor>[1] = {}): Promise<WSServer> {
  const server = await startServerFor(upstream, { store: sqliteStore({ path: path() }), ...options });
  servers.push(server);
  return server;
}

async function connect(server: WSServer): Promise<TestClient> {
  const client = await connectTestClient(server.url as string);
  clients.push(client);
  return client;
}

/** Stops `server` (the test's clients on it see the close). */
async function stop(server: WSServer): Promise<void> {
  await server.stop();
  servers = servers.filter((s) => s !== server);
}

beforeEach(async () => {
  upstream = await createOpenAITestServer();
  dir = mkdtempSync(join(tmpdir(), 'llm-ws-sqlite-'));
});
afterEach(async () => {
  await Promise.all(clients.map((client) => client.close()));
  clients = [];
  await Promise.all(servers.map((server) => server.stop()));
  servers = [];
  await upstream.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('sqliteStore', () => {
  it('keeps no record of a session that only answered controls, and keeps their frames once it has a conversation', async () => {
    const server = await start();
    const client = await connect(server);
    const { sessionId, resumeToken } = (await client.waitFor('session')).data;
    const rows = (): number => {
      const db = openDatabase(path());
      try {
        return Number(db.prepare('SELECT COUNT(*) AS n FROM llmws_sessions WHERE id = ?').get(sessionId)?.n);
      } finally {
        db.close();
      }
    };
    client.send({ type: 'control', id: 'a1', data: { type: 'abort' } });
    const answered = await client.waitFor('status', (m) => m.data.requestId === 'a1');
    client.send({ type: 'control', id: 'c1', data: { type: 'clear_history' } });
    await client.waitFor('history', (m) => m.data.requestId === 'c1');
    // The records are written synchronously as each frame goes out: nothing was.
    expect(rows()).toBe(0);

    upstream.enqueue({ type: 'text', chunks: ['four'] });
    client.send(userMessage('q1', 'two and two?'));
    const complete = await client.waitFor('llm_complete');
    await client.waitFor('status', (m) => m.data.status === 'idle');
    expect(rows()).toBe(1);
    await stop(server);

    // After a restart, a client that saw nothing gets every frame again, the early ones too.
    const second = await start();
    const again = await connect(second);
    await again.waitFor('session');
    again.send({ type: 'resume', id: 'r1', data: { sessionId, resumeToken, lastSeq: 0 } });
    await again.waitFor('session', (m) => m.data.resumed === true);
    const replayedStatus = await again.waitFor('status', (m) => m.data.requestId === 'a1');
    expect(replayedStatus.seq).toBe(answered.seq);
    expect((await again.waitFor('llm_complete')).seq).toBe(complete.seq);
  });

  it('keeps a conversation across a restart: a resume gets it, and the model sees it on the next message', async () => {
    const first = await start();
    const client = await connect(first);
    const { sessionId, resumeToken } = (await client.waitFor('session')).data;
    upstream.enqueue({ type: 'text', chunks: ['four'] });
    client.send(userMessage('q1', 'two and two?'));
    const complete = await client.waitFor('llm_complete');
    const lastSeq = complete.seq as number;
    await client.waitFor('status', (m) => m.data.status === 'idle');
    await stop(first);

    const second = await start();
    const again = await connect(second);
    await again.waitFor('session');
    again.send({ type: 'resume', id: 'r1', data: { sessionId, resumeToken, lastSeq } });
    expect((await again.waitFor('session', (m) => m.data.resumed === true)).data).toMatchObject({ sessionId });
    again.send({ type: 'control', id: 'h1', data: { type: 'get_history' } });
    expect(withoutIds((await again.waitFor('history')).data.messages)).toEqual([
      { role: 'user', content: 'two and two?' },
      { role: 'assistant', content: 'four' },
    ]);
    upstream.enqueue({ type: 'text', chunks: ['eight'] });
    again.send(userMessage('q2', 'doubled?'));
    expect((await again.waitFor('llm_complete', (m) => m.data.requestId === 'q2')).data.fullText).toBe('eight');
    expect(upstream.requests[1]?.body.messages.slice(-3)).toEqual([
      { role: 'user', content: 'two and two?' },
      { role: 'assistant', content: 'four' },
      { role: 'user', content: 'doubled?' },
    ]);
  });

  it('writes the user message before the model is asked, and keeps a reply cut by a stop as interrupted', async () => {
    const firstChunk = gate();
    const rest = gate();
    upstream.enqueue({ type: 'text', chunks: ['one ', 'two ', 'three'] });
    const { provider } = gatedProvider(upstream, { 0: firstChunk.promise, 1: rest.promise });
    const first = await start({ llm: provider });
    const client = await connect(first);
    const { sessionId, resumeToken } = (await client.waitFor('session')).data;
    client.send(userMessage('q1', 'count'));
    await client.waitFor('status', (m) => m.data.status === 'thinking');
    // The model has not streamed anything yet: the user's message is on disk already.
    const reader = openDatabase(path());
    const row = reader.prepare('SELECT history, busy_request FROM llmws_sessions WHERE id = ?').get(sessionId);
    reader.close();
    expect(withoutIds(activeHistory(JSON.parse(String(row?.history)) as HistoryMessage[]))).toEqual([
      { role: 'user', content: 'count' },
    ]);
    expect(row?.busy_request).toBe('q1');
    firstChunk.open();
    const seen = await client.waitFor('llm_chunk', (m) => m.data.chunk === 'one ');
    await stop(first);
    rest.open();

    const second = await start();
    const again = await connect(second);
    await again.waitFor('session');
    again.send({ type: 'resume', id: 'r1', data: { sessionId, resumeToken, lastSeq: seen.seq as number } });
    const complete = await again.waitFor('llm_complete', (m) => m.data.requestId === 'q1');
    expect(complete.data).toMatchObject({ fullText: 'one ', finishReason: 'interrupted' });
    await again.waitFor('session', (m) => m.data.resumed === true);
    again.send({ type: 'control', id: 'h1', data: { type: 'get_history' } });
    expect(withoutIds((await again.waitFor('history')).data.messages)).toEqual([
      { role: 'user', content: 'count' },
      { role: 'assistant', content: 'one ', finishReason: 'interrupted' },
    ]);
    upstream.enqueue({ type: 'text', chunks: ['fine'] });
    again.send(userMessage('q2', 'again'));
    expect((await again.waitFor('llm_complete', (m) => m.data.requestId === 'q2')).data.fullText).toBe('fine');
  });

  it('accepts a client whose lastSeq is past what reached the disk, and gives it the stored history', async () => {
    const first = await start();
    const client = await connect(first);
    const { sessionId, resumeToken } = (await client.waitFor('session')).data;
    upstream.enqueue({ type: 'text', chunks: ['hi'] });
    client.send(userMessage('q1', 'hello'));
    const idle = await client.waitFor('status', (m) => m.data.status === 'idle');
    await stop(first);

    const second = await start();
    const again = await connect(second);
    await again.waitFor('session');
    const ahead = (idle.seq as number) + 5;
    again.send({ type: 'resume', id: 'r1', data: { sessionId, resumeToken, lastSeq: ahead } });
    const resumed = await again.waitFor('session', (m) => m.data.resumed === true);
    expect(resumed.data.lastSeq).toBeGreaterThan(ahead);
    expect(withoutIds((await again.waitFor('history')).data.messages)).toEqual([
      { role: 'user', content: 'hello' },
      { role: 'assistant', content: 'hi' },
    ]);
    expect(again.received.find((m) => m.type === 'error')).toBeUndefined();
  });
});
