/** `llm-ws chat --attach FILE`: the file goes with the question, as an attachment the model gets as a content part. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openAIProvider } from '../../src/llm/openai-provider';
import { silentLogger } from '../../src/server/logger';
import { WSServer } from '../../src/server/ws-server';
import { createOpenAITestServer, type OpenAITestServer } from '../../src/testing/node';
import { type CliProcess, spawnCli } from '../utils/spawn-cli';

let server: WSServer | undefined;
let upstream: OpenAITestServer | undefined;
let cli: CliProcess | undefined;
let dir: string | undefined;

afterEach(async () => {
  await cli?.stop();
  await server?.stop();
  await upstream?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  cli = server = upstream = dir = undefined;
});

describe('llm-ws chat --attach', () => {
  it('sends the files with the question', async () => {
    upstream = await createOpenAITestServer();
    server = new WSServer({
      port: 0,
      hostname: '127.0.0.1',
      logger: silentLogger,
      llm: openAIProvider({ baseURL: upstream.baseURL, apiKey: 'test', model: 'test-model', maxRetries: 0 }),
    });
    await server.start();
    dir = mkdtempSync(join(tmpdir(), 'llm-ws-attach-'));
    const png = Buffer.from('89504e470d0a1a0a', 'hex');
    writeFileSync(join(dir, 'dot.png'), png);
    writeFileSync(join(dir, 'notes.txt'), 'hello');
    cli = spawnCli([
      'chat',
      '--url',
      server.url as string,
      '--attach',
      join(dir, 'dot.png'),
      '-a',
      join(dir, 'notes.txt'),
      'what is it?',
    ]);
    expect(await cli.exited).toBe(0);
    expect(cli.stdout()).toBe('You said: what is it?\n');
    const user = ((await upstream.request(0)).body.messages as Array<{ role: string; content: unknown }>).find(
      (m) => m.role === 'user',
    );
    expect(user?.content).toEqual([
      { type: 'text', text: 'what is it?' },
      { type: 'image_url', image_url: { url: `data:image/png;base64,${png.toString('base64')}` } },
      {
        type: 'file',
        file: { file_data: `data:text/plain;base64,${Buffer.from('hello').toString('base64')}`, filename: 'notes.txt' },
      },
    ]);
  }, 30_000);

  it('exits 2 for a file it cannot send', async () => {
    cli = spawnCli(['chat', '--url', 'ws://127.0.0.1:1/ws', '--attach', 'program.exe', 'hi']);
    expect(await cli.exited).toBe(2);
    expect(cli.output()).toContain('llm-ws: --attach program.exe: unknown file type');
  }, 30_000);
});
