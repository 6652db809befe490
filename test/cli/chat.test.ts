import { offlineProvider } from '../../src/llm/offline-provider';
import { silentLogger } from '../../src/server/logger';
import { WSServer } from '../../src/server/ws-server';
import { createOpenAITestServer, type OpenAITestServer } from '../../src/testing/node';
import { openAIProvider } from '../../src/llm/openai-provider';
import { type CliProcess, spawnCli } from '../utils/spawn-cli';

describe('llm-ws chat', () => {
  let server: WSServer;
  let upstream: OpenAITestServer | undefined;
  let cli: CliProcess | undefined;

  afterEach(async () => {
    await cli?.stop();
    await server?.stop();
    server = undefined as unknown as WSServer;
    await upstream?.close();
    cli = undefined;
    upstream = undefined;
  });

  it('answers one question on stdout, tool calls included, and exits 0', async () => {
    server = new WSServer({ port: 0, hostname: '127.0.0.1', logger: silentLogger, llm: offlineProvider({ chunkDelayMs: 0 }) });
    await server.start();
    cli = spawnCli(['chat', '--url', server.url as string, 'what is 2+3*4?']);
    expect(await cli.exited).toBe(0);
    expect(cli.output()).toBe('[tool] calculate({"expression":"2+3*4"})\n[result] calculate → {"expression":"2+3*4","result":14}\n2+3*4 = 14\n');
  });

  it('exits 1 with the reason when no server answers', async () => {
    server = new WSServer({ port: 0, hostname: '127.0.0.1', logger: silentLogger, llm: offlineProvider() });
    await server.start();
    const url = server.url as string;
    await server.stop();
    cli = spawnCli(['chat', '--url', url, 'hello?']);
    expect(await cli.exited).toBe(1);
    expect(cli.output()).toMatch(/llm-ws: reconnect_failed: gave up after 2 reconnect attempts: connection lost/);
  });

  it('holds a conversation: streams replies, maps /history and /clear, aborts on Ctrl-C, quits on the second', async () => {
    upstream = await createOpenAITestServer();
    server = new WSServer({
      port: 0,
      hostname: '127.0.0.1',
      logger: silentLogger,
      llm: openAIProvider({ baseURL: upstream.baseURL, apiKey: 'k', maxRetries: 0 }),
    });
    await server.start();
    cli = spawnCli(['chat', '--url', server.url as string]);
    await cli.waitForOutput(/\[connected to .*session [\w-]+\]/);
    cli.type('hello');
    await cli.waitForOutput(/You said: hello\n/);
    cli.type('/history');
    await cli.waitForOutput(/user: hello\nassistant: You said: hello\n/);
    cli.type('/clear');
    await cli.waitForOutput(/history cleared/);
    upstream.enqueue({ type: 'stall', chunks: ['Once upon a time'] });
    cli.type('a long story');
    await cli.waitForOutput(/Once upon a time/);
    cli.child.kill('SIGINT');
    await cli.waitForOutput(/\[aborted\]/);
    await expect(upstream.requests[upstream.requests.length - 1]?.ended).resolves.toBe('client_closed');
    cli.child.kill('SIGINT');
    expect(await cli.exited).toBe(0);
  });

  it('reaches a server started with --auth-token only with --token', async () => {
    const serve = spawnCli(['serve', '--port', '0', '--host', '127.0.0.1', '--auth-token', 'opensesame']);
    try {
      const [, url] = await serve.waitForOutput(/listening on (ws:\/\/\S+)/);
      expect(serve.output()).toContain('clients must present the auth token');
      cli = spawnCli(['chat', '--url', url as string, 'what is 1+1?']);
      expect(await cli.exited).toBe(1);
      expect(cli.output()).toMatch(/llm-ws: connection_refused: the server refused the connection \(the socket failed: Unexpected server response: 401\)/);
      cli = spawnCli(['chat', '--url', url as string, '--token', 'opensesame', 'what is 1+1?']);
      expect(await cli.exited).toBe(0);
      expect(cli.output()).toContain('1+1 = 2');
    } finally {
      await serve.stop();
    }
  });
});
