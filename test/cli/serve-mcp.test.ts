/**
 * `llm-ws serve --mcp "<command>" --mcp-url URL --mcp-header ...`: two processes on one Redis,
 * each connected to the same MCP servers (one over stdio, started by each process; one over
 * Streamable HTTP with a bearer token, in this test's process). A conversation begun on one
 * process, with an MCP tool's result in its history, goes on on the other after the first is
 * killed, and its MCP tools work there under the same names.
 */
import { filter, firstValueFrom } from 'rxjs';
import { WSClient } from '../../src/client/node';
import { createOpenAITestServer, type OpenAITestServer } from '../../src/testing/node';
import { useStdioMcpFixture } from '../utils/mcp-stdio-fixture';
import { type HttpMcpServer, startHttpMcpServer } from '../utils/mcp-test-server';
import { isolatedRedisKeys, TEST_REDIS_URL } from '../utils/redis';
import { type CliProcess, spawnCli } from '../utils/spawn-cli';
import { createTcpProxy, type TcpProxy } from '../utils/tcp-proxy';

let upstream: OpenAITestServer;
let mcp: HttpMcpServer;
const keys = isolatedRedisKeys();
let processes: CliProcess[] = [];
let proxy: TcpProxy | undefined;
let client: WSClient | undefined;

const fixture = useStdioMcpFixture();
const stdioCommand = (): string => `env MCP_SERVER_NAME=files "${process.execPath}" "${fixture.path()}"`;

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
      '--no-builtin-tools',
      '--mcp',
      stdioCommand(),
      '--mcp-url',
      mcp.url,
      '--mcp-header',
      'Authorization: Bearer s3cret',
    ],
    { OPENAI_BASE_URL: upstream.baseURL },
  );
  processes.push(cli);
  const [, port] = await cli.waitForOutput(/listening on ws:\/\/[^:]+:(\d+)/, 30_000);
  expect(cli.output()).toContain('MCP server files: 11 tools');
  expect(cli.output()).toContain('MCP server testsrv: 11 tools');
  return { cli, port: Number(port) };
}

beforeEach(async () => {
  upstream = await createOpenAITestServer();
  mcp = await startHttpMcpServer({ token: 's3cret' });
});
afterEach(async () => {
  client?.disconnect();
  client = undefined;
  await proxy?.close();
  proxy = undefined;
  await Promise.all(processes.map((cli) => cli.stop()));
  processes = [];
  await mcp.close();
  await upstream.close();
});

describe('llm-ws serve with MCP servers, two processes on one Redis', () => {
  it('calls MCP tools on either process, under the same names, with the history shared', async () => {
    const [first, second] = await Promise.all([serveProcess(), serveProcess()]);
    proxy = await createTcpProxy(first.port);
    const c = new WSClient({
      url: `ws://127.0.0.1:${proxy.port}/ws`,
      reconnectDelay: 20,
      maxReconnectDelay: 200,
      reconnectAttempts: 100,
    });
    client = c;
    await c.connect();
    const results: Array<{ toolName: string; result?: unknown; error?: string }> = [];
    c.toolResults$.subscribe((result) => results.push(result));

    upstream.enqueue(
      { type: 'tool_calls', calls: [{ id: 'c1', name: 'testsrv__echo', arguments: { text: 'from the first' } }] },
      { type: 'text', chunks: ['one'] },
    );
    expect((await c.sendMessage('first')).fullText).toBe('one');
    const offered = (upstream.requests[0]?.body.tools as Array<{ function: { name: string } }>).map(
      (t) => t.function.name,
    );
    expect(offered).toEqual(expect.arrayContaining(['files__echo', 'testsrv__echo', 'files__delete_file']));

    proxy.retarget(second.port);
    proxy.cutAll();
    await firstValueFrom(c.status$.pipe(filter((status) => status === 'connected')));
    first.cli.child.kill('SIGKILL');
    await first.cli.exited;

    upstream.enqueue(
      {
        type: 'tool_calls',
        calls: [
          { id: 'c2', name: 'files__echo', arguments: { text: 'over stdio' } },
          { id: 'c3', name: 'testsrv__forecast', arguments: { city: 'Bergen' } },
        ],
      },
      { type: 'text', chunks: ['two'] },
    );
    expect((await c.sendMessage('second')).fullText).toBe('two');
    expect(results).toHaveLength(3);
    expect(results[0]).toEqual(expect.objectContaining({ toolName: 'testsrv__echo', result: 'from the first' }));
    // The second round's two calls run together: each result comes as its call finishes (docs/PROTOCOL.md).
    expect(results.slice(1)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ toolName: 'files__echo', result: 'over stdio' }),
        expect.objectContaining({ toolName: 'testsrv__forecast', result: { city: 'Bergen', celsius: 21 } }),
      ]),
    );
    // The second process's model call carries the first process's MCP call and result.
    const history = upstream.requests[2]?.body.messages as Array<{
      role: string;
      content: string;
      tool_calls?: unknown;
    }>;
    expect(history.filter((m) => m.role === 'tool').map((m) => m.content)).toEqual(['from the first']);
    expect(mcp.events.filter((e) => e.type === 'call').map((e) => e.tool)).toEqual(['echo', 'forecast']);
  }, 90_000);

  it('refuses a bad --mcp flag with exit code 2 and says why', async () => {
    const cli = spawnCli(['serve', '--port', '0', '--mcp', 'node "unclosed'], {});
    processes.push(cli);
    expect(await cli.exited).toBe(2);
    expect(cli.output()).toContain('llm-ws: --mcp unclosed " in');
    const header = spawnCli(
      ['serve', '--port', '0', '--mcp-url', 'http://127.0.0.1:1/mcp', '--mcp-header', 'no colon'],
      {},
    );
    processes.push(header);
    expect(await header.exited).toBe(2);
    expect(header.output()).toContain("llm-ws: --mcp-header wants 'Name: value'");
  }, 30_000);

  it('lists the MCP flags in --help', async () => {
    const help = spawnCli(['serve', '--help'], {});
    processes.push(help);
    expect(await help.exited).toBe(0);
    for (const flag of ['--mcp <command>', '--mcp-url <url>', '--mcp-header <header>', '--mcp-require-approval'])
      expect(help.output()).toContain(flag);
  }, 30_000);
});
