/**
 * Issue 25's "many machines": two `llm-ws serve --redis-url ... --postgres-url ...` processes
 * behind one address, Redis coordinating them and PostgreSQL keeping the conversations. The
 * process serving a reply is killed (SIGKILL) mid-reply and Redis restarts empty: the
 * conversation list, the history (with the reply's text so far, `interrupted`) and a new message
 * all work through the other process, and through one started afterwards. Killed while Redis
 * lives on, the reply's text so far comes back as `interrupted` too (not `reply_interrupted`).
 *
 * Its own redis-server (so it can restart it empty) and its own PostgreSQL schema (dropped after).
 */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { filter, firstValueFrom } from 'rxjs';
import { WSClient } from '../../src/client/node';
import { withoutIds } from '../utils/history';
import { type OwnRedis, startOwnRedis } from '../utils/redis-server';
import { useServeProcesses } from '../utils/serve-processes';
import { waitUntilTrue } from '../utils/wait-until';

const served = useServeProcesses();
const POSTGRES = process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

let redis: OwnRedis | undefined;
let schema = '';
let others: WSClient[] = [];

/** A query in this test's schema. */
async function inSchema<R>(text: string, values: unknown[] = []): Promise<R[]> {
  const client = new Client({ connectionString: POSTGRES });
  await client.connect();
  try {
    await client.query(`SET search_path TO ${schema}`);
    return (await client.query(text, values)).rows as R[];
  } finally {
    await client.end();
  }
}

beforeEach(async () => {
  redis = await startOwnRedis();
  schema = `llmws_it_${randomBytes(5).toString('hex')}`;
  const client = new Client({ connectionString: POSTGRES });
  await client.connect();
  await client.query(`CREATE SCHEMA ${schema}`);
  await client.end();
});

// Runs after useServeProcesses' (declared first): the processes are gone, and their connections with them.
afterEach(async () => {
  for (const client of others) client.disconnect();
  others = [];
  await redis?.kill();
  redis = undefined;
  const client = new Client({ connectionString: POSTGRES });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.end();
}, 30_000);

/** `llm-ws serve` on this test's Redis and schema; resolves with its port once it listens. */
const serveProcess = () => {
  const url = `${POSTGRES}?options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  return served.serveProcess(
    ['--redis-url', (redis as OwnRedis).url, '--redis-prefix', 'llm-ws-it:', '--postgres-url', url],
    `conversations kept in PostgreSQL at ${new URL(POSTGRES).host}${new URL(POSTGRES).pathname}`,
  );
};

/** Whether the `serve` process on `port` says its session store answers (`/health`). */
const storeReady = async (port: number): Promise<boolean> => {
  const health = (await (await fetch(`http://127.0.0.1:${port}/health`)).json()) as { store?: { status?: string } };
  return health.store?.status === 'ok';
};

/** Whether this test's PostgreSQL frames hold `text`. */
const recorded = async (text: string): Promise<boolean> =>
  (await inSchema(`SELECT 1 FROM llmws_frames WHERE text LIKE $1`, [`%${text}%`])).length > 0;

describe('llm-ws serve on Redis over PostgreSQL records', () => {
  it('keeps conversations and history in PostgreSQL when the process serving a reply is killed and Redis restarts empty', async () => {
    const [first, second] = await Promise.all([serveProcess(), serveProcess()]);
    const c = await served.clientThrough(first.port);
    served.upstream.enqueue({ type: 'text', chunks: ['first ', 'answer'] });
    expect((await c.sendMessage('first question')).fullText).toBe('first answer');
    const id = c.sessionId as string;

    served.upstream.enqueue({ type: 'stall', chunks: ['half ', 'a '] });
    const reply = c.sendMessage('a story');
    await firstValueFrom(c.chunks$.pipe(filter(({ chunk }) => chunk === 'a ')));
    // The chunks reach PostgreSQL in batches of a few ms: a crash loses at most those.
    await waitUntilTrue(() => recorded('"a "'));
    await served.kill(first);
    await redis?.kill();
    await redis?.restart();
    // The other process reconnects to the empty Redis with its own backoff: until then it answers
    // a resume with 1013 at once, which would spend the client's reconnect attempts.
    await waitUntilTrue(() => storeReady(second.port));

    served.moveClientTo(second.port);
    expect(await reply).toMatchObject({ fullText: 'half a ', finishReason: 'interrupted' });
    expect((await c.listConversations()).conversations).toEqual([
      expect.objectContaining({ id, title: 'first question', messageCount: 4 }),
    ]);
    expect(withoutIds(await c.getHistory())).toEqual([
      { role: 'user', content: 'first question' },
      { role: 'assistant', content: 'first answer' },
      { role: 'user', content: 'a story' },
      { role: 'assistant', content: 'half a ', finishReason: 'interrupted' },
    ]);
    served.upstream.enqueue({ type: 'text', chunks: ['the ', 'end'] });
    expect((await c.sendMessage('go on')).fullText).toBe('the end');
    expect(served.upstream.requests.at(-1)?.body.messages.slice(1)).toEqual([
      { role: 'user', content: 'first question' },
      { role: 'assistant', content: 'first answer' },
      { role: 'user', content: 'a story' },
      { role: 'assistant', content: 'half a ' },
      { role: 'user', content: 'go on' },
    ]);

    // A process started afterwards (a restart of the killed one) lists and opens it too.
    const third = await serveProcess();
    const other = new WSClient({ url: `ws://127.0.0.1:${third.port}/ws`, reconnectAttempts: 5, reconnectDelay: 20 });
    others.push(other);
    await other.connect();
    expect((await other.listConversations()).conversations).toEqual([expect.objectContaining({ id, messageCount: 6 })]);
    expect(withoutIds(await other.openConversation(id)).at(-1)).toEqual({ role: 'assistant', content: 'the end' });
  }, 90_000);

  it('keeps the text so far of a reply whose process is killed while Redis lives on', async () => {
    const [first, second] = await Promise.all([serveProcess(), serveProcess()]);
    const c = await served.clientThrough(first.port);
    served.upstream.enqueue({ type: 'stall', chunks: ['half ', 'a '] });
    const reply = c.sendMessage('a story');
    await firstValueFrom(c.chunks$.pipe(filter(({ chunk }) => chunk === 'a ')));
    await waitUntilTrue(() => recorded('"a "'));
    await served.kill(first);
    // The other process takes the session over once the killed one's lease runs out.
    served.moveClientTo(second.port);
    expect(await reply).toMatchObject({ fullText: 'half a ', finishReason: 'interrupted' });
    served.upstream.enqueue({ type: 'text', chunks: ['the end'] });
    expect((await c.sendMessage('go on')).fullText).toBe('the end');
    expect(withoutIds(await c.getHistory())).toEqual([
      { role: 'user', content: 'a story' },
      { role: 'assistant', content: 'half a ', finishReason: 'interrupted' },
      { role: 'user', content: 'go on' },
      { role: 'assistant', content: 'the end' },
    ]);
  }, 90_000);
});
