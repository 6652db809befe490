/**
 * The "done when": two `llm-ws serve --redis-url` processes behind one address (a TCP
 * proxy standing in for a load balancer without sticky sessions) behave as one server to a
 * client moved between them mid-reply, and the conversation outlives the process that began it.
 */
import { filter, firstValueFrom } from 'rxjs';
import { WSClient } from '../../src/client/node';
import { createOpenAITestServer, type OpenAITestServer } from '../../src/testing/node';
import { isolatedRedisKeys, TEST_REDIS_URL } from '../utils/redis';
import { type CliProcess, spawnCli } from '../utils/spawn-cli';
import { createTcpProxy, type TcpProxy } from '../utils/tcp-proxy';

let upstream: OpenAITestServer;
const keys = isolatedRedisKeys();
let processes: CliProcess[] = [];
let proxy: TcpProxy | undefined;
let client: WSClient | undefined;

const numbered = (count: number): string[] => Array.from({ length: count }, (_, i) => `c${i} `);

/** Starts `llm-ws serve` on the shared Redis; resolves with its port. */
async function serveProcess(): Promise<{ cli: CliProcess; port: number }> {
  const cli = spawnCli(
    [
      'serve',
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      '--model',
      'test-model',
      '--redis-url',
      TEST_REDIS_URL,
      '--redis-prefix',
      keys.prefix,
      '--redis-lease',
      '1',
    ],
    { OPENAI_BASE_URL: upstream.baseURL },
  );
  processes.push(cli);
  const [, port] = await cli.waitForOutput(/listening on ws:\/\/[^:]+:(\d+)/);
  expect(cli.output()).toContain(
    `sessions shared through Redis at redis://${new URL(TEST_REDIS_URL).host} (prefix ${keys.prefix})`,
  );
  return { cli, port: Number(port) };
}

async function clientThrough(port: number): Promise<WSClient> {
  proxy = await createTcpProxy(port);
  client = new WSClient({
    url: `ws://127.0.0.1:${proxy.port}/ws`,
    reconnectDelay: 20,
    maxReconnectDelay: 200,
    reconnectAttempts: 100,
  });
  await client.connect();
  return client;
}

/** The load balancer sends the client's next connection to `port`, and the network drops the current one. */
function moveClientTo(port: number): void {
  proxy?.retarget(port);
  proxy?.cutAll();
}

async function kill(cli: CliProcess): Promise<void> {
  cli.child.kill('SIGKILL');
  await cli.exited;
}

beforeEach(async () => {
  upstream = await createOpenAITestServer();
});
afterEach(async () => {
  client?.disconnect();
  client = undefined;
  await proxy?.close();
  proxy = undefined;
  await Promise.all(processes.map((cli) => cli.stop()));
  processes = [];
  await upstream.close();
});

describe('two llm-ws serve processes on one Redis', () => {
  it('deliver every chunk once to a client moved mid-reply, and keep the history after the first process is killed', async () => {
    const [first, second] = await Promise.all([serveProcess(), serveProcess()]);
    const c = await clientThrough(first.port);
    const chunks = numbered(200);
    upstream.enqueue({ type: 'text', chunks, delayMs: 5 });
    const received: string[] = [];
    c.chunks$.subscribe(({ chunk }) => chunk && received.push(chunk));
    const reply = c.sendMessage('count to 200');
    await firstValueFrom(c.chunks$.pipe(filter(({ chunk }) => chunk === 'c40 ')));
    moveClientTo(second.port);
    expect((await reply).fullText).toBe(chunks.join(''));
    expect(received).toEqual(chunks);
    expect(upstream.requests).toHaveLength(1);
    expect(proxy?.connections).toBe(2);

    await kill(first.cli);
    upstream.enqueue({ type: 'text', chunks: ['still ', 'here'] });
    expect((await c.sendMessage('are you there?')).fullText).toBe('still here');
    expect(upstream.requests[1]?.body.messages.slice(1)).toEqual([
      { role: 'user', content: 'count to 200' },
      { role: 'assistant', content: chunks.join('') },
      { role: 'user', content: 'are you there?' },
    ]);
  }, 60_000);

  it('tell a client that moved away from a process killed mid-reply that the reply was interrupted, then carry on', async () => {
    const [first, second] = await Promise.all([serveProcess(), serveProcess()]);
    const c = await clientThrough(first.port);
    upstream.enqueue({ type: 'stall', chunks: ['half ', 'a '] });
    const reply = c.sendMessage('a story');
    await firstValueFrom(c.chunks$.pipe(filter(({ chunk }) => chunk === 'a ')));
    moveClientTo(second.port);
    await firstValueFrom(c.status$.pipe(filter((status) => status === 'connected')));
    await kill(first.cli);
    await expect(reply).rejects.toMatchObject({ code: 'reply_interrupted', retryable: true });

    upstream.enqueue({ type: 'text', chunks: ['the end'] });
    expect((await c.sendMessage('again please')).fullText).toBe('the end');
    const contents = upstream.requests[1]?.body.messages.map((m: { content: string }) => m.content);
    expect(contents).toEqual(expect.arrayContaining(['a story', 'again please']));
  }, 60_000);
});
