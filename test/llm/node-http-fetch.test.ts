import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { nodeBodyOf, nodeHttpFetch } from '../../src/llm/node-http-fetch';

/** The fetch the openai SDK is given: what the SDK relies on from a fetch, over loopback. */
describe('nodeHttpFetch', () => {
  let server: Server;
  let base: string;
  let closedEarly: Promise<void>;

  beforeEach(async () => {
    let sawClose: () => void = () => undefined;
    closedEarly = new Promise((resolve) => (sawClose = resolve));
    server = createServer((request, response) => {
      let body = '';
      request.on('data', (part: Buffer) => (body += part.toString()));
      request.on('end', () => {
        if (request.url === '/stream') {
          response.writeHead(200, { 'content-type': 'text/event-stream' });
          response.write('data: {"a":1}\n\n');
          response.on('close', () => !response.writableEnded && sawClose());
          return; // never ends: the client must hang up
        }
        if (request.url === '/echo') {
          response.writeHead(201, {
            'content-type': 'application/json',
            'x-seen-auth': request.headers.authorization ?? '',
          });
          return response.end(JSON.stringify({ method: request.method, body }));
        }
        response.writeHead(429, { 'content-type': 'application/json', 'retry-after': '1' });
        response.end('{"error":{"message":"slow down"}}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('sends method, headers and body, and gives back status, headers and a readable body', async () => {
    const response = await nodeHttpFetch(`${base}/echo`, {
      method: 'POST',
      headers: { authorization: 'Bearer k' },
      body: '{"x":1}',
    });
    expect(response.status).toBe(201);
    expect(response.headers.get('x-seen-auth')).toBe('Bearer k');
    expect(await response.json()).toEqual({ method: 'POST', body: '{"x":1}' });
    expect(nodeBodyOf(response)).toBeUndefined();
  });

  it('reads an error answer whole, as the SDK expects to', async () => {
    const response = await nodeHttpFetch(`${base}/limited`, { method: 'POST', body: '{}' });
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('1');
    expect(await response.text()).toBe('{"error":{"message":"slow down"}}');
  });

  it('hands an event stream over as a Node stream, and an abort closes the connection at once', async () => {
    const controller = new AbortController();
    const response = await nodeHttpFetch(`${base}/stream`, { method: 'POST', body: '{}', signal: controller.signal });
    const body = nodeBodyOf(response);
    expect(response.body).toBeNull();
    expect(body).toBeDefined();
    const first = await new Promise<string>((resolve) =>
      body?.once('data', (part: Buffer) => resolve(part.toString())),
    );
    expect(first).toBe('data: {"a":1}\n\n');
    body?.on('error', () => undefined);
    controller.abort();
    await closedEarly;
  });

  it('rejects an aborted request with an AbortError, and an unreachable one with TypeError: fetch failed', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(nodeHttpFetch(`${base}/echo`, { signal: controller.signal })).rejects.toMatchObject({
      name: 'AbortError',
    });
    const port = (server.address() as AddressInfo).port;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await expect(nodeHttpFetch(`http://127.0.0.1:${port}/echo`)).rejects.toThrow('fetch failed');
    server = createServer().listen(0); // for afterEach
  });
});
