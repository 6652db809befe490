/**
 * MCP servers as tool sources, over real sockets: a WSServer with `mcpServers`, the
 * OpenAI-compatible test server as the model, and MCP servers built with the SDK, over
 * Streamable HTTP on loopback (in this process) and over stdio (a child process).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { McpServerConfig } from '../../src/tools/mcp/config';
import { type HttpMcpServer, type McpServerEvent, startHttpMcpServer } from '../utils/mcp-test-server';
import { useLoopbackServer } from '../utils/loopback-server';
import { useStdioMcpFixture } from '../utils/mcp-stdio-fixture';
import { type TestClient, userMessage } from '../utils/ws-test-client';

const loopback = useLoopbackServer();
const fixture = useStdioMcpFixture();
let mcp: HttpMcpServer | undefined;
let eventsDir: string | undefined;

afterEach(async () => {
  // The WSServer (stopped by useLoopbackServer's afterEach, registered first, so run after this one)
  // may still be connected: closing the MCP server first is part of what is tested (it survives it).
  await mcp?.close();
  mcp = undefined;
  if (eventsDir) rmSync(eventsDir, { recursive: true, force: true });
  eventsDir = undefined;
});

/** The stdio test server's config, and where its events go. */
function stdioServer(extra: Partial<McpServerConfig> = {}): {
  config: McpServerConfig;
  events: () => McpServerEvent[];
} {
  eventsDir = mkdtempSync(join(tmpdir(), 'llm-ws-mcp-'));
  const file = join(eventsDir, 'events.jsonl');
  return {
    config: {
      command: process.execPath,
      args: [fixture.path()],
      env: { MCP_EVENTS_FILE: file, PATH: process.env.PATH ?? '' },
      ...extra,
    },
    events: () => {
      try {
        return readFileSync(file, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line) as McpServerEvent);
      } catch {
        return [];
      }
    },
  };
}

const toolNamesOffered = async (index: number): Promise<string[]> =>
  ((await loopback.upstream.request(index)).body.tools ?? []).map(
    (tool: { function: { name: string } }) => tool.function.name,
  );

const toolMessagesOf = async (index: number): Promise<string[]> =>
  ((await loopback.upstream.request(index)).body.messages as Array<{ role: string; content: string }>)
    .filter((m) => m.role === 'tool')
    .map((m) => m.content);

const callTool = (name: string, args: unknown = {}, id = 'call_1') =>
  loopback.upstream.enqueue(
    { type: 'tool_calls', calls: [{ id, name, arguments: args }] },
    { type: 'text', chunks: ['ok'] },
  );

/**
 * Waits until the WSServer's first MCP server is `state` with `tools` tools (when given). The tests
 * wait for this rather than asking again and again: a loop of messages as fast as replies end
 * passes the server's rate limit (20 a second, bursts of 40) within a reconnect's half second on
 * Node 22 and later, and a message refused with `rate_limited` gets no tool_result to wait for.
 */
async function mcpServerIs(state: 'connected' | 'disconnected', tools?: number): Promise<void> {
  await waitFor(() => {
    const [server] = loopback.server?.mcpServers() ?? [];
    return server?.state === state && (tools === undefined || server.tools === tools);
  });
}

async function ask(client: TestClient, id: string) {
  client.send(userMessage(id, 'go'));
  const result = await client.waitFor('tool_result', (m) => m.data.requestId === id, 20_000);
  await client.waitFor('llm_complete', (m) => m.data.requestId === id, 20_000);
  return result.data;
}

describe('MCP tools over Streamable HTTP', () => {
  it('offers the tools as <server>__<tool> beside the server own, with the auth header sent', async () => {
    mcp = await startHttpMcpServer({ token: 's3cret' });
    await loopback.start({ mcpServers: [{ url: mcp.url, headers: { Authorization: 'Bearer s3cret' } }] });
    callTool('testsrv__echo', { text: 'hello over MCP' });
    const client = await loopback.connect();
    const result = await ask(client, 'm1');
    expect(result).toMatchObject({ toolName: 'testsrv__echo', result: 'hello over MCP' });
    expect(await toolNamesOffered(0)).toEqual(
      expect.arrayContaining([
        'get_current_time',
        'calculate',
        'testsrv__echo',
        'testsrv__forecast',
        'testsrv__delete_file',
      ]),
    );
    expect(await toolMessagesOf(1)).toEqual(['hello over MCP']);
    expect(mcp.events).toContainEqual({ type: 'call', tool: 'echo', args: { text: 'hello over MCP' } });
    expect(mcp.refused).toBe(0);
  });

  it('without the token, the server refuses: the tools are not offered and the reply goes on', async () => {
    mcp = await startHttpMcpServer({ token: 's3cret' });
    await loopback.start({ mcpServers: [{ url: mcp.url, headers: { Authorization: 'Bearer wrong' } }] });
    const client = await loopback.connect();
    client.send(userMessage('m1', 'hi'));
    const done = await client.waitFor('llm_complete', (m) => m.data.requestId === 'm1');
    expect(done.data.fullText).toBe('You said: hi');
    expect(mcp.refused).toBeGreaterThan(0);
    expect((await toolNamesOffered(0)).filter((name) => name.startsWith('testsrv__'))).toEqual([]);
  });

  it('gives the model structured content as the result, and describes images', async () => {
    mcp = await startHttpMcpServer();
    await loopback.start({ mcpServers: [{ url: mcp.url, name: 'weather' }] });
    loopback.upstream.enqueue(
      {
        type: 'tool_calls',
        calls: [
          { id: 'c1', name: 'weather__forecast', arguments: { city: 'Oslo' } },
          { id: 'c2', name: 'weather__picture', arguments: {} },
        ],
      },
      { type: 'text', chunks: ['ok'] },
    );
    const client = await loopback.connect();
    client.send(userMessage('m1', 'weather?'));
    await client.waitFor('llm_complete', (m) => m.data.requestId === 'm1', 20_000);
    const results = client.forRequest('m1').flatMap((m) => (m.type === 'tool_result' ? [m.data] : []));
    expect(results.find((r) => r.toolCallId === 'c1')?.result).toEqual({ city: 'Oslo', celsius: 21 });
    expect(results.find((r) => r.toolCallId === 'c2')?.result).toEqual([
      { type: 'text', text: 'a red dot' },
      { type: 'image', mediaType: 'image/png', bytes: 20 },
    ]);
    expect(await toolMessagesOf(1)).toContain(JSON.stringify({ city: 'Oslo', celsius: 21 }));
  });

  it('an abort of the reply reaches the MCP server as a cancellation', async () => {
    mcp = await startHttpMcpServer();
    await loopback.start({ mcpServers: [{ url: mcp.url }] });
    callTool('testsrv__wait_for_cancel');
    const client = await loopback.connect();
    client.send(userMessage('m1', 'go'));
    await mcp.waitFor((event) => event.type === 'call' && event.tool === 'wait_for_cancel');
    client.send({ type: 'control', id: 'a1', data: { type: 'abort', requestId: 'm1' } });
    await mcp.waitFor((event) => event.type === 'cancelled' && event.tool === 'wait_for_cancel');
    const done = await client.waitFor('llm_complete', (m) => m.data.requestId === 'm1');
    expect(done.data.finishReason).toBe('aborted');
  });

  it('a tool the server annotates destructive waits for approval; approved, it runs', async () => {
    mcp = await startHttpMcpServer();
    await loopback.start({ mcpServers: [{ url: mcp.url }], approvalTimeoutMs: 60_000 });
    callTool('testsrv__delete_file', { path: '/tmp/x' });
    const client = await loopback.connect();
    client.send(userMessage('m1', 'delete it'));
    const asked = await client.waitFor('tool_call', (m) => m.data.status === 'approval_required', 20_000);
    expect(asked.data.toolName).toBe('testsrv__delete_file');
    expect(mcp.events.filter((e) => e.tool === 'delete_file')).toEqual([]);
    client.send({ type: 'tool_approval', id: 'ap1', data: { toolCallId: asked.data.toolCallId, approved: true } });
    const result = await client.waitFor('tool_result', (m) => m.data.requestId === 'm1', 20_000);
    expect(result.data.result).toBe('deleted /tmp/x');
  });

  it('requireApproval in the config makes any of its tools wait; false lets a destructive one run', async () => {
    mcp = await startHttpMcpServer();
    await loopback.start({
      mcpServers: [
        { url: mcp.url, name: 'strict', requireApproval: ['echo'] },
        { url: mcp.url, name: 'lax', requireApproval: false },
      ],
      approvalTimeoutMs: 60_000,
    });
    loopback.upstream.enqueue(
      {
        type: 'tool_calls',
        calls: [
          { id: 'c1', name: 'strict__echo', arguments: { text: 'a' } },
          { id: 'c2', name: 'lax__delete_file', arguments: { path: 'b' } },
        ],
      },
      { type: 'text', chunks: ['ok'] },
    );
    const client = await loopback.connect();
    client.send(userMessage('m1', 'go'));
    await client.waitFor('tool_result', (m) => m.data.toolCallId === 'c2', 20_000);
    const statuses = client
      .forRequest('m1')
      .flatMap((m) => (m.type === 'tool_call' ? [[m.data.toolCallId, m.data.status]] : []));
    expect(statuses).toContainEqual(['c1', 'approval_required']);
    expect(statuses).toContainEqual(['c2', 'start']);
    client.send({ type: 'tool_approval', id: 'ap1', data: { toolCallId: 'c1', approved: false } });
    await client.waitFor('llm_complete', (m) => m.data.requestId === 'm1', 20_000);
    expect(mcp.events.filter((e) => e.tool === 'echo')).toEqual([]);
  });

  it('follows list_changed: a tool the server adds is offered on the next model call', async () => {
    mcp = await startHttpMcpServer();
    await loopback.start({ mcpServers: [{ url: mcp.url }] });
    callTool('testsrv__add_tool');
    const client = await loopback.connect();
    await ask(client, 'm1');
    expect(await toolNamesOffered(0)).not.toContain('testsrv__late');
    // The SDK refreshes the list after the notification (debounced): the next model call is offered it.
    await mcpServerIs('connected', 12);
    client.send(userMessage('n2', 'again'));
    await client.waitFor('llm_complete', (m) => m.data.requestId === 'n2', 20_000);
    expect(await toolNamesOffered(2)).toContain('testsrv__late');
    callTool('testsrv__late', {}, 'call_late');
    const n = loopback.upstream.requests.length;
    const result = await ask(client, 'm2');
    expect(result.result).toBe('late tool ran');
    expect(loopback.upstream.requests.length).toBe(n + 2);
  });

  it('a list_changed sent before the event stream opened is not lost: the list is read again once it opens', async () => {
    mcp = await startHttpMcpServer({ holdStreams: true });
    await loopback.start({ mcpServers: [{ url: mcp.url }] });
    callTool('testsrv__add_tool');
    const client = await loopback.connect();
    await ask(client, 'm1');
    // The server sent its notification while no event stream was open: the SDK's server dropped it.
    expect(await toolNamesOffered(1)).not.toContain('testsrv__late');
    mcp.releaseStreams();
    await mcpServerIs('connected', 12);
    client.send(userMessage('n2', 'again'));
    await client.waitFor('llm_complete', (m) => m.data.requestId === 'n2', 20_000);
    expect(await toolNamesOffered(2)).toContain('testsrv__late');
  });

  it('an error result, a huge result, deep nesting and wrong types are tool errors; the reply and server go on', async () => {
    mcp = await startHttpMcpServer();
    await loopback.start({ mcpServers: [{ url: mcp.url, maxResultBytes: 1024 * 1024 }] });
    loopback.upstream.enqueue(
      {
        type: 'tool_calls',
        calls: [
          { id: 'c1', name: 'testsrv__fail', arguments: {} },
          { id: 'c2', name: 'testsrv__huge', arguments: { megabytes: 2 } },
          { id: 'c3', name: 'testsrv__deep', arguments: {} },
          { id: 'c4', name: 'testsrv__wrong_types', arguments: {} },
        ],
      },
      { type: 'text', chunks: ['still here'] },
    );
    const client = await loopback.connect();
    client.send(userMessage('m1', 'go'));
    const done = await client.waitFor('llm_complete', (m) => m.data.requestId === 'm1', 20_000);
    expect(done.data.fullText).toBe('still here');
    const errors = Object.fromEntries(
      client.forRequest('m1').flatMap((m) => (m.type === 'tool_result' ? [[m.data.toolCallId, m.data.error]] : [])),
    );
    expect(errors.c1).toBe('MCP server testsrv, tool fail failed: the disk is full');
    expect(errors.c2).toMatch(
      /^mcp_result_too_large: MCP server testsrv, tool huge answered with \d+ bytes; the limit is 1048576$/,
    );
    expect(errors.c3).toBe('mcp_bad_result: MCP server testsrv, tool deep answered with JSON nested deeper than 64');
    expect(errors.c4).toMatch(/^mcp_call_failed: MCP server testsrv, tool wrong_types: /);
    // The server still answers.
    callTool('testsrv__echo', { text: 'after' }, 'c5');
    expect((await ask(client, 'm2')).result).toBe('after');
  });

  it('a slow tool fails with a timeout; a dead server fails with mcp_unavailable, then is reconnected', async () => {
    mcp = await startHttpMcpServer();
    const port = Number(new URL(mcp.url).port);
    await loopback.start({ mcpServers: [{ url: mcp.url }], toolTimeoutMs: 500 });
    callTool('testsrv__wait_for_cancel');
    const client = await loopback.connect();
    expect((await ask(client, 'm1')).error).toBe('testsrv__wait_for_cancel did not finish within 500 ms');
    // The timeout cancelled the call on the server too.
    await mcp.waitFor((event) => event.type === 'cancelled');

    await mcp.close();
    callTool('testsrv__echo', { text: 'x' }, 'c2');
    expect((await ask(client, 'm2')).error).toMatch(/^mcp_(call_failed|unavailable): /);
    mcp = await startHttpMcpServer({ port });
    // Back: the calls succeed again once the connection is made anew.
    await mcpServerIs('connected');
    callTool('testsrv__echo', { text: 'back' }, 'c3');
    expect((await ask(client, 'm3')).result).toBe('back');
    expect(mcp.events).toContainEqual({ type: 'call', tool: 'echo', args: { text: 'back' } });
  });
});

describe('MCP tools over stdio', () => {
  it('starts the command, calls its tools, and sends the cancel of an abort to it', async () => {
    const stdio = stdioServer();
    await loopback.start({ mcpServers: [stdio.config] });
    callTool('testsrv__echo', { text: 'over stdio' });
    const client = await loopback.connect();
    expect((await ask(client, 'm1')).result).toBe('over stdio');

    callTool('testsrv__wait_for_cancel', {}, 'c2');
    client.send(userMessage('m2', 'go'));
    await client.waitFor('tool_call', (m) => m.data.requestId === 'm2' && m.data.status === 'start', 20_000);
    await waitFor(() => stdio.events().some((e) => e.type === 'call' && e.tool === 'wait_for_cancel'));
    client.send({ type: 'control', id: 'a1', data: { type: 'abort', requestId: 'm2' } });
    await waitFor(() => stdio.events().some((e) => e.type === 'cancelled'));
    expect((await client.waitFor('llm_complete', (m) => m.data.requestId === 'm2')).data.finishReason).toBe('aborted');
  });

  it('a server process that exits makes its tools fail, and is started again', async () => {
    const stdio = stdioServer({ name: 'files' });
    await loopback.start({ mcpServers: [stdio.config], toolTimeoutMs: 10_000 });
    callTool('files__exit');
    const client = await loopback.connect();
    expect((await ask(client, 'm1')).error).toMatch(/^mcp_call_failed: MCP server files, tool exit: /);
    // Away until the reconnect (half a second later) has started the command again.
    callTool('files__echo', { text: 'away' }, 'c2');
    const away = await ask(client, 'm2');
    // (Unless the restart was quicker than this message: then it simply ran.)
    if (away.error !== undefined) expect(away.error).toMatch(/^mcp_unavailable: MCP server files is not connected/);
    else expect(away.result).toBe('away');
    await mcpServerIs('connected');
    callTool('files__echo', { text: 'again' }, 'c3');
    expect((await ask(client, 'm3')).result).toBe('again');
  });
});

/** Polls `check` (a file the child process writes) until it holds. */
async function waitFor(check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
