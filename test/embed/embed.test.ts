/**
 * llm-ws inside servers of the caller's: Express beside other WebSocket endpoints (registered
 * before and after it), Fastify's server, and `noServer` with `handleUpgrade`. Real sockets on
 * loopback throughout.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Fastify from 'fastify';
import { GraphQLObjectType, GraphQLSchema, GraphQLString } from 'graphql';
import { createClient } from 'graphql-ws';
import { Server as SocketIOServer } from 'socket.io';
import { io as connectSocketIO, type Socket as SocketIOClient } from 'socket.io-client';
import WebSocket, { WebSocketServer } from 'ws';
import { LLMWSError } from '../../src/errors';
import { openAIProvider } from '../../src/llm/openai-provider';
import { silentLogger } from '../../src/server/logger';
import { WSServer, type WSServerEvent } from '../../src/server/ws-server';
import { createOpenAITestServer, type OpenAITestServer } from '../../src/testing/node';
import { startServerFor } from '../utils/test-server';
import { connectTestClient, userMessage } from '../utils/ws-test-client';

// graphql-ws publishes `use/ws` through package exports only, which this repo's node10 resolution
// of types cannot follow (jest's resolver can).
// eslint-disable-next-line @typescript-eslint/no-require-imports -- see above.
const { useServer } = require('graphql-ws/use/ws') as typeof import('graphql-ws/dist/use/ws.cjs');

let upstream: OpenAITestServer;
const cleanups: Array<() => unknown> = [];

beforeEach(async () => {
  upstream = await createOpenAITestServer();
});

afterEach(async () => {
  // Last opened, first closed: clients, then llm-ws, then the app's server.
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await upstream.close();
});

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return (server.address() as AddressInfo).port;
}

async function startLlm(
  server: Server | undefined,
  options: { noServer?: boolean; path?: string } = {},
): Promise<WSServer> {
  const llm = await startServerFor(upstream, { server, ...options });
  cleanups.push(() => llm.stop());
  return llm;
}

async function chat(url: string, text = 'hi'): Promise<string> {
  const client = await connectTestClient(url);
  cleanups.push(() => client.close());
  await client.waitFor('session');
  client.send(userMessage('q', text));
  return (await client.waitFor('llm_complete')).data.fullText;
}

/** A second `ws` endpoint the way ws documents several on one server: noServer, routed by path, other paths left alone. */
function addEchoEndpoint(http: Server): void {
  const wss = new WebSocketServer({ noServer: true });
  wss.on('connection', (ws) => ws.on('message', (data) => ws.send(`echo:${data.toString()}`)));
  http.on('upgrade', (request, socket, head) => {
    if (new URL(request.url ?? '/', 'http://x').pathname !== '/echo') return;
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
  });
  cleanups.push(() => {
    for (const ws of wss.clients) ws.terminate();
    return new Promise((resolve) => wss.close(resolve));
  });
}

async function echo(url: string): Promise<string[]> {
  const socket = new WebSocket(url);
  cleanups.push(() => socket.terminate());
  const replies: string[] = [];
  // An error (such as "RSV1 must be clear" from a second response written into the socket) fails the test.
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.once('unexpected-response', (_request, response) =>
      reject(new Error(`upgrade refused with HTTP ${response.statusCode}`)),
    );
    socket.on('message', (data) => {
      replies.push(data.toString());
      if (replies.length === 3) resolve();
    });
    socket.once('open', () => ['a', 'b', 'c'].forEach((text) => socket.send(text)));
  });
  return replies;
}

function addSocketIOEndpoint(http: Server): void {
  const io = new SocketIOServer(http, { transports: ['websocket'] });
  io.on('connection', (socket) =>
    socket.on('hello', (name: string, ack: (reply: string) => void) => ack(`hello ${name}`)),
  );
  // Not io.close(): that would close the app's HTTP server too, which listen()'s cleanup does.
  cleanups.push(() => {
    io.disconnectSockets(true);
    io.engine.close();
  });
}

async function socketIOHello(port: number): Promise<string> {
  const socket: SocketIOClient = connectSocketIO(`http://127.0.0.1:${port}`, {
    transports: ['websocket'],
    reconnection: false,
  });
  cleanups.push(() => void socket.disconnect());
  return socket.timeout(5000).emitWithAck('hello', 'llm-ws') as Promise<string>;
}

describe('Express, beside other WebSocket endpoints on the same server', () => {
  const others = { ws: { add: addEchoEndpoint }, 'socket.io': { add: addSocketIOEndpoint } };

  it.each([
    ['ws', 'before'],
    ['ws', 'after'],
    ['socket.io', 'before'],
    ['socket.io', 'after'],
  ] as const)('a %s endpoint registered %s llm-ws keeps working, and so does llm-ws', async (other, order) => {
    const app = express();
    app.get('/api/ping', (_request, response) => void response.json({ pong: true }));
    const http = createServer(app);
    const port = await listen(http);
    if (order === 'before') others[other].add(http);
    await startLlm(http, { path: '/llm' });
    if (order === 'after') others[other].add(http);

    expect(await chat(`ws://127.0.0.1:${port}/llm`)).toBe('You said: hi');
    if (other === 'ws') expect(await echo(`ws://127.0.0.1:${port}/echo`)).toEqual(['echo:a', 'echo:b', 'echo:c']);
    else expect(await socketIOHello(port)).toBe('hello llm-ws');
    expect(await (await fetch(`http://127.0.0.1:${port}/api/ping`)).json()).toEqual({ pong: true });
  });

  it('never listens on a port of its own: serves the app server from when the app makes it listen', async () => {
    const http = createServer(express());
    const llm = await startLlm(http);
    const started: WSServerEvent[] = [];
    llm.events$.subscribe((event) => event.type === 'started' && started.push(event));
    expect(http.listening).toBe(false);
    expect(llm.url).toBeUndefined();
    expect(started).toEqual([]);

    const port = await listen(http);
    expect(started).toEqual([{ type: 'started', url: `ws://127.0.0.1:${port}/ws`, port }]);
    expect(llm.url).toBe(`ws://127.0.0.1:${port}/ws`);
    expect(await chat(llm.url as string)).toBe('You said: hi');
    await llm.stop();
    expect(http.listening).toBe(true); // the app's server is the app's to close
  });

  it('serves two llm-ws servers on two paths of one app server', async () => {
    const http = createServer(express());
    const port = await listen(http);
    await startLlm(http, { path: '/a' });
    await startLlm(http, { path: '/b' });
    expect(await chat(`ws://127.0.0.1:${port}/a`, 'one')).toBe('You said: one');
    expect(await chat(`ws://127.0.0.1:${port}/b`, 'two')).toBe('You said: two');
  });

  it("names an app server bound to every interface (listen(port), Node's default) localhost in its url", async () => {
    const http = createServer(express());
    const llm = await startLlm(http);
    await new Promise<void>((resolve) => http.listen(0, resolve));
    cleanups.push(() => new Promise((resolve) => http.close(resolve)));
    const port = (http.address() as AddressInfo).port;
    expect(llm.url).toBe(`ws://localhost:${port}/ws`);
  });
});

describe("Fastify's server", () => {
  it('serves llm-ws on fastify.server beside the routes, answers 404 to other upgrade paths (no one else would), and stops with the app', async () => {
    const app = Fastify();
    app.get('/api/ping', async () => ({ pong: true }));
    const llm = await startServerFor(upstream, { server: app.server });
    app.addHook('preClose', async () => llm.stop());
    cleanups.push(() => app.close());
    await app.listen({ port: 0, host: '127.0.0.1' });
    const port = (app.server.address() as AddressInfo).port;

    expect(llm.url).toBe(`ws://127.0.0.1:${port}/ws`);
    expect(await chat(llm.url as string)).toBe('You said: hi');
    expect(await (await fetch(`http://127.0.0.1:${port}/api/ping`)).json()).toEqual({ pong: true });
    await expect(connectTestClient(`ws://127.0.0.1:${port}/elsewhere`)).rejects.toThrow(
      'upgrade refused with HTTP 404',
    );

    const client = await connectTestClient(llm.url as string);
    await client.waitFor('session');
    await app.close();
    expect((await client.closed).code).toBe(1001);
    expect(app.server.listening).toBe(false);
  });
});

describe('noServer and handleUpgrade', () => {
  it('takes the upgrades handed to it for its path, and returns false for others without touching the socket', async () => {
    const http = createServer();
    const handed: Array<{ path: string; taken: boolean }> = [];
    // Assigned once below: the upgrade listener, added first, sees it undefined until then.
    // eslint-disable-next-line prefer-const
    let llm: WSServer | undefined;
    http.on('upgrade', (request, socket, head) => {
      const taken = llm?.handleUpgrade(request, socket, head) ?? false;
      handed.push({ path: request.url ?? '', taken });
      if (!taken) socket.end('HTTP/1.1 418 I am a teapot\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    });
    const port = await listen(http);
    llm = new WSServer({ noServer: true, logger: silentLogger, llm: upstreamProvider() });
    cleanups.push(() => llm?.stop());

    // Before start (and after stop), its own path is answered 503; others are not its business.
    await expect(connectTestClient(`ws://127.0.0.1:${port}/ws`)).rejects.toThrow('upgrade refused with HTTP 503');
    await llm.start();
    expect(llm.url).toBeUndefined();
    expect(http.listenerCount('upgrade')).toBe(1);
    expect(await chat(`ws://127.0.0.1:${port}/ws?x=1`)).toBe('You said: hi');
    await expect(connectTestClient(`ws://127.0.0.1:${port}/other`)).rejects.toThrow('upgrade refused with HTTP 418');
    await llm.stop();
    await expect(connectTestClient(`ws://127.0.0.1:${port}/ws`)).rejects.toThrow('upgrade refused with HTTP 503');
    expect(handed).toEqual([
      { path: '/ws', taken: true },
      { path: '/ws?x=1', taken: true },
      { path: '/other', taken: false },
      { path: '/ws', taken: true },
    ]);
  });

  it('serves beside graphql-ws with one upgrade listener routing both (the README recipe)', async () => {
    const schema = new GraphQLSchema({
      query: new GraphQLObjectType({
        name: 'Query',
        fields: { hello: { type: GraphQLString, resolve: () => 'world' } },
      }),
    });
    const graphql = new WebSocketServer({ noServer: true });
    const graphqlServer = useServer({ schema }, graphql);
    cleanups.push(() => graphqlServer.dispose());
    const llm = await startLlm(undefined, { noServer: true, path: '/llm' });
    const http = createServer();
    http.on('upgrade', (request, socket, head) => {
      if (llm.handleUpgrade(request, socket, head)) return;
      if (new URL(request.url ?? '/', 'http://x').pathname === '/graphql') {
        graphql.handleUpgrade(request, socket, head, (ws) => graphql.emit('connection', ws, request));
      } else {
        socket.destroy();
      }
    });
    const port = await listen(http);

    const client = createClient({ url: `ws://127.0.0.1:${port}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0 });
    cleanups.push(() => client.dispose());
    const result = await new Promise((resolve, reject) => {
      let last: unknown;
      client.subscribe(
        { query: '{ hello }' },
        { next: (value) => (last = value), error: reject, complete: () => resolve(last) },
      );
    });
    expect(result).toEqual({ data: { hello: 'world' } });
    expect(await chat(`ws://127.0.0.1:${port}/llm`)).toBe('You said: hi');
  });

  it('refuses server together with noServer with invalid_options', () => {
    const make = (): WSServer => new WSServer({ server: createServer(), noServer: true, llm: upstreamProvider() });
    expect(make).toThrow(LLMWSError);
    expect(make).toThrow(expect.objectContaining({ code: 'invalid_options' }));
  });
});

function upstreamProvider(): ReturnType<typeof openAIProvider> {
  return openAIProvider({ baseURL: upstream.baseURL, apiKey: 'test', model: 'test-model', maxRetries: 0 });
}
