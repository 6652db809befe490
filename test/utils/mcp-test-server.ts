/**
 * MCP servers for tests, built with the real SDK: the same tools over stdio (a child process,
 * test/tools/fixtures/mcp-stdio-server.ts) and over Streamable HTTP on loopback (in the test's
 * process). Tools cover the ordinary cases and a hostile server's answers.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
// The low-level Server (not McpServer): it answers whatever a handler returns, as a hostile server would.

import { Server as LowLevelServer } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';

/** What a test MCP server saw. */
export interface McpServerEvent {
  readonly type: 'call' | 'cancelled';
  readonly tool: string;
  readonly args?: unknown;
}

// eslint-disable-next-line @typescript-eslint/no-deprecated
type Server = LowLevelServer;

const objectSchema = (properties: Record<string, unknown> = {}, required: string[] = []) => ({
  type: 'object',
  properties,
  required,
});

const TOOLS = [
  {
    name: 'echo',
    description: 'Says the text back',
    inputSchema: objectSchema({ text: { type: 'string' } }, ['text']),
  },
  {
    name: 'forecast',
    description: 'Weather for a city, as structured content',
    inputSchema: objectSchema({ city: { type: 'string' } }, ['city']),
    outputSchema: objectSchema({ city: { type: 'string' }, celsius: { type: 'number' } }, ['city', 'celsius']),
  },
  { name: 'picture', description: 'A tiny PNG and a caption', inputSchema: objectSchema() },
  { name: 'wait_for_cancel', description: 'Runs until cancelled', inputSchema: objectSchema() },
  {
    name: 'delete_file',
    description: 'Deletes a file',
    inputSchema: objectSchema({ path: { type: 'string' } }, ['path']),
    annotations: { destructiveHint: true },
  },
  { name: 'add_tool', description: 'Adds the tool `late` to the list', inputSchema: objectSchema() },
  { name: 'fail', description: 'Reports an error', inputSchema: objectSchema() },
  {
    name: 'huge',
    description: 'Answers with megabytes of text',
    inputSchema: objectSchema({ megabytes: { type: 'number' } }),
  },
  { name: 'deep', description: 'Answers with deeply nested structured content', inputSchema: objectSchema() },
  { name: 'wrong_types', description: 'Answers with content that is not a list', inputSchema: objectSchema() },
  {
    name: 'exit',
    description: 'Ends the server process (stdio) or drops its connections (HTTP)',
    inputSchema: objectSchema(),
  },
];

const PNG_BASE64 = Buffer.from('89504e470d0a1a0a0000000d4948445200000001', 'hex').toString('base64');

/** An MCP server (name `testsrv` unless given) whose events go to `onEvent`; `onExit` serves the `exit` tool. */
export function makeTestMcpServer(
  onEvent: (event: McpServerEvent) => void,
  onExit: () => void,
  name = 'testsrv',
): Server {
  // eslint-disable-next-line @typescript-eslint/no-deprecated
  const server = new LowLevelServer({ name, version: '1.0.0' }, { capabilities: { tools: { listChanged: true } } });
  let late = false;
  server.setRequestHandler(ListToolsRequestSchema, () => ({
    tools: late ? [...TOOLS, { name: 'late', description: 'Added later', inputSchema: objectSchema() }] : TOOLS,
  }));
  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const { name: tool, arguments: args = {} } = request.params;
    onEvent({ type: 'call', tool, args });
    switch (tool) {
      case 'echo':
        return { content: [{ type: 'text', text: String((args as { text?: unknown }).text) }] };
      case 'late':
        return { content: [{ type: 'text', text: 'late tool ran' }] };
      case 'forecast': {
        const result = { city: String((args as { city?: unknown }).city), celsius: 21 };
        return { content: [{ type: 'text', text: JSON.stringify(result) }], structuredContent: result };
      }
      case 'picture':
        return {
          content: [
            { type: 'text', text: 'a red dot' },
            { type: 'image', data: PNG_BASE64, mimeType: 'image/png' },
          ],
        };
      case 'delete_file':
        return { content: [{ type: 'text', text: `deleted ${String((args as { path?: unknown }).path)}` }] };
      case 'wait_for_cancel':
        return new Promise((resolve) => {
          extra.signal.addEventListener('abort', () => {
            onEvent({ type: 'cancelled', tool });
            resolve({ content: [{ type: 'text', text: 'cancelled' }] });
          });
        });
      case 'add_tool':
        late = true;
        await server.sendToolListChanged();
        return { content: [{ type: 'text', text: 'added' }] };
      case 'fail':
        return { isError: true, content: [{ type: 'text', text: 'the disk is full' }] };
      case 'huge': {
        const megabytes = Number((args as { megabytes?: unknown }).megabytes ?? 3);
        return { content: [{ type: 'text', text: 'x'.repeat(megabytes * 1024 * 1024) }] };
      }
      case 'deep': {
        let nested: Record<string, unknown> = { bottom: true };
        for (let i = 0; i < 1000; i++) nested = { nested };
        return { content: [{ type: 'text', text: 'deep' }], structuredContent: nested };
      }
      case 'wrong_types':
        return { content: 'not a list' };
      case 'exit':
        onExit();
        return new Promise(() => undefined);
      default:
        return { isError: true, content: [{ type: 'text', text: `no tool ${tool}` }] };
    }
  });
  return server;
}

/** A Streamable HTTP MCP server on loopback. */
export interface HttpMcpServer {
  readonly url: string;
  readonly events: McpServerEvent[];
  /** Resolves with the first event matching, once it happened. */
  waitFor(predicate: (event: McpServerEvent) => boolean): Promise<McpServerEvent>;
  /** Requests refused for want of the token. */
  readonly refused: number;
  /** With `holdStreams`: answers the GET requests of event streams held so far, and those to come. */
  releaseStreams(): void;
  close(): Promise<void>;
}

/**
 * Starts one on `port` (0: any free one); with `token`, requests without `Authorization: Bearer
 * <token>` get 401; with `holdStreams`, the GET of the standalone event stream waits for
 * `releaseStreams()` (a slow network: notifications sent meanwhile are dropped by the SDK's server).
 */
export async function startHttpMcpServer(
  options: { token?: string; port?: number; name?: string; holdStreams?: boolean } = {},
): Promise<HttpMcpServer> {
  const events: McpServerEvent[] = [];
  const waiters = new Set<() => void>();
  const transports = new Map<string, StreamableHTTPServerTransport>();
  const servers = new Set<Server>();
  let refused = 0;
  let streamsHeld: Promise<void> = Promise.resolve();
  let releaseStreams = (): void => undefined;
  if (options.holdStreams) streamsHeld = new Promise((resolve) => (releaseStreams = resolve));
  const onEvent = (event: McpServerEvent): void => {
    events.push(event);
    for (const waiter of [...waiters]) waiter();
  };
  const dropAll = (): void => {
    for (const transport of transports.values()) void transport.close();
    transports.clear();
  };
  const readBody = async (request: IncomingMessage): Promise<unknown> => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    return text === '' ? undefined : JSON.parse(text);
  };
  const http: HttpServer = createServer((request, response) => {
    void (async () => {
      if (options.token && request.headers.authorization !== `Bearer ${options.token}`) {
        refused++;
        response.writeHead(401).end();
        return;
      }
      const sessionId = request.headers['mcp-session-id'];
      const body = request.method === 'POST' ? await readBody(request) : undefined;
      let transport = typeof sessionId === 'string' ? transports.get(sessionId) : undefined;
      if (!transport) {
        if (typeof sessionId === 'string') {
          response.writeHead(404).end();
          return;
        }
        const created = new StreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          onsessioninitialized: (id) => {
            transports.set(id, created);
          },
        });
        const server = makeTestMcpServer(onEvent, dropAll, options.name);
        servers.add(server);
        await server.connect(created);
        transport = created;
      }
      if (request.method === 'GET') await streamsHeld;
      await transport.handleRequest(request, response, body);
    })().catch(() => {
      if (!response.headersSent) response.writeHead(500);
      response.end();
    });
  });
  await new Promise<void>((resolve) => http.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    events,
    get refused() {
      return refused;
    },
    releaseStreams: () => releaseStreams(),
    waitFor: (predicate) =>
      new Promise((resolve) => {
        const check = (): boolean => {
          const found = events.find(predicate);
          if (found) {
            waiters.delete(check);
            resolve(found);
          }
          return found !== undefined;
        };
        if (!check()) waiters.add(check);
      }),
    async close() {
      releaseStreams();
      dropAll();
      await Promise.all([...servers].map((server) => server.close().catch(() => undefined)));
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
