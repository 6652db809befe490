import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { WSClient } from '../../src/client/node';
import { makeSession } from '../../src/testing';

/** What the client does on real sockets when the handshake is refused, and how it closes. */
let http: Server;
let wss: WebSocketServer | undefined;
let client: WSClient | undefined;

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws`;
}

afterEach(async () => {
  client?.disconnect();
  client = undefined;
  await new Promise<void>((resolve) => (wss ? wss.close(() => resolve()) : resolve()));
  wss = undefined;
  http.closeAllConnections();
  await new Promise<void>((resolve) => http.close(() => resolve()));
});

describe('WSClient handshake refusals and closes over loopback', () => {
  it.each([404, 401, 403])(
    'does not retry a handshake the server answers with HTTP %i: connection_refused at once',
    async (status) => {
      let upgrades = 0;
      http = createServer();
      http.on('upgrade', (_request, socket) => {
        upgrades++;
        socket.end(`HTTP/1.1 ${status} Nope\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      });
      const url = await listen(http);
      client = new WSClient({ url, reconnectAttempts: 5, reconnectDelay: 10, heartbeatInterval: 0 });
      await expect(client.connect()).rejects.toMatchObject({ code: 'connection_refused', retryable: false });
      expect(client.getStats().reconnects).toBe(0);
      expect(upgrades).toBe(1);
    },
  );

  it('closes with 1000 (normal closure) on disconnect()', async () => {
    http = createServer();
    wss = new WebSocketServer({ server: http });
    const closed = new Promise<number>((resolve) =>
      wss?.on('connection', (socket) => {
        socket.send(JSON.stringify(makeSession('s-1')));
        socket.on('close', (code) => resolve(code));
      }),
    );
    const url = await listen(http);
    client = new WSClient({ url, heartbeatInterval: 0 });
    await client.connect();
    client.disconnect();
    expect(await closed).toBe(1000);
  });

  it('reports each refused attempt on errors$ as it happens, then rejects with reconnect_failed', async () => {
    // A port nobody listens on: listen, note the port, close.
    http = createServer();
    const url = await listen(http);
    await new Promise<void>((resolve) => http.close(() => resolve()));
    http = createServer(); // for afterEach to close
    client = new WSClient({ url, reconnectAttempts: 2, reconnectDelay: 20, reconnectJitter: 0, heartbeatInterval: 0 });
    const seen: string[] = [];
    client.errors$.subscribe((error) => seen.push(error.code));
    const firstError = new Promise<string>((resolve) => client?.errors$.subscribe((error) => resolve(error.code)));
    const connecting = client.connect();
    let settled = false;
    connecting.then(
      () => (settled = true),
      () => (settled = true),
    );
    // The first refusal is heard while connect() still tries (it waits 20 + 40 ms more).
    expect(await firstError).toBe('connection_lost');
    expect(settled).toBe(false);
    await expect(connecting).rejects.toMatchObject({ code: 'reconnect_failed' });
    expect(seen).toEqual(['connection_lost', 'connection_lost', 'connection_lost', 'reconnect_failed']);
  });
});
