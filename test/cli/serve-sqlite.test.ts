/**
 * `llm-ws serve` keeps conversations in its data directory (SQLite): killed (SIGKILL) or stopped
 * (SIGTERM) mid-reply and started again on the same directory, it gives the resuming client the
 * reply's text so far as `interrupted`, and the conversation goes on.
 */
import { withoutIds } from '../utils/history';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { filter, firstValueFrom } from 'rxjs';
import { openDatabase } from '../../src/store/sqlite/node-sqlite';
import { type Served, useServeProcesses } from '../utils/serve-processes';
import { waitUntilTrue } from '../utils/wait-until';

const served = useServeProcesses();
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'llm-ws-serve-sqlite-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const serveOnDir = (): Promise<Served> => served.serveProcess(['--data-dir', dir], `conversations kept in ${dir}`);

/** Whether the frames of the serve process's SQLite file hold `text` (another process reads the WAL too). */
function onDisk(text: string): boolean {
  const db = openDatabase(join(dir, 'llm-ws.sqlite'));
  try {
    return db.prepare('SELECT 1 FROM llmws_frame_log WHERE text LIKE ?').get(`%${text}%`) !== undefined;
  } catch {
    return false;
  } finally {
    db.close();
  }
}

describe.each([
  ['killed (SIGKILL)', (process: Served) => served.kill(process)],
  [
    'stopped (SIGTERM)',
    async (process: Served) => {
      await process.cli.stop();
    },
  ],
])('llm-ws serve --data-dir, %s mid-reply', (_how, end) => {
  it('keeps the conversation: the resumed client gets the reply so far as interrupted, then carries on', async () => {
    const first = await serveOnDir();
    const client = await served.clientThrough(first.port);
    served.upstream.enqueue({ type: 'stall', chunks: ['half ', 'a '] });
    const reply = client.sendMessage('a story');
    await firstValueFrom(client.chunks$.pipe(filter(({ chunk }) => chunk === 'a ')));
    // The chunks are batched to disk every 250 ms: a crash loses at most those.
    await waitUntilTrue(() => onDisk('"a "'));
    await end(first);

    const second = await serveOnDir();
    served.moveClientTo(second.port);
    expect(await reply).toMatchObject({ fullText: 'half a ', finishReason: 'interrupted' });
    served.upstream.enqueue({ type: 'text', chunks: ['the end'] });
    expect((await client.sendMessage('go on')).fullText).toBe('the end');
    expect(served.upstream.requests.at(-1)?.body.messages.slice(1)).toEqual([
      { role: 'user', content: 'a story' },
      { role: 'assistant', content: 'half a ' },
      { role: 'user', content: 'go on' },
    ]);
    expect(withoutIds(await client.getHistory())).toEqual([
      { role: 'user', content: 'a story' },
      { role: 'assistant', content: 'half a ', finishReason: 'interrupted' },
      { role: 'user', content: 'go on' },
      { role: 'assistant', content: 'the end' },
    ]);
  }, 60_000);
});

describe('llm-ws serve --data-dir, the files', () => {
  it('creates the data directory and the database for their owner alone, and starts without a warning', async () => {
    const data = join(dir, 'nested', 'data');
    const { cli } = await served.serveProcess(['--data-dir', data], `conversations kept in ${data}`);
    expect(statSync(join(dir, 'nested')).mode & 0o777).toBe(0o700);
    expect(statSync(data).mode & 0o777).toBe(0o700);
    expect(statSync(join(data, 'llm-ws.sqlite')).mode & 0o777).toBe(0o600);
    // Node 22's "SQLite is an experimental feature" printed on every start.
    expect(cli.output()).not.toMatch(/Warning/);
  }, 30_000);
});
