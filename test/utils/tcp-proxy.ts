import { createConnection, createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A TCP proxy on loopback that a test controls: it can cut every connection through it, or stop
 * reading what the server sends (a client that reads slowly), to see what survives.
 */
export interface TcpProxy {
  readonly port: number;
  /** Connections made through the proxy so far. */
  readonly connections: number;
  /** Points new connections at another port (the "load balancer" moves). */
  retarget(port: number): void;
  /** Destroys every open connection through the proxy, both sides. */
  cutAll(): void;
  /** Stops (true) or restarts (false) reading from the server side of every connection. */
  stallServerToClient(stalled: boolean): void;
  close(): Promise<void>;
}

export async function createTcpProxy(targetPort: number): Promise<TcpProxy> {
  let target = targetPort;
  let stalled = false;
  let count = 0;
  const pairs = new Set<{ client: Socket; upstream: Socket }>();
  const server = createServer((client) => {
    count++;
    const upstream = createConnection({ host: '127.0.0.1', port: target });
    const pair = { client, upstream };
    pairs.add(pair);
    const end = (): void => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    // By hand rather than pipe(): a pipe's own pause and resume on backpressure must not undo a stall.
    upstream.on('data', (chunk: Buffer) => {
      if (!client.write(chunk)) upstream.pause();
    });
    client.on('drain', () => {
      if (!stalled) upstream.resume();
    });
    if (stalled) upstream.pause();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    get connections() {
      return count;
    },
    retarget: (port) => {
      target = port;
    },
    cutAll: () => {
      for (const { client, upstream } of [...pairs]) {
        client.destroy();
        upstream.destroy();
      }
    },
    stallServerToClient: (value) => {
      stalled = value;
      for (const { client, upstream } of pairs) {
        if (value) upstream.pause();
        else if (!client.writableNeedDrain) upstream.resume(); // else the next drain resumes it
      }
    },
    close: async () => {
      for (const { client, upstream } of [...pairs]) {
        client.destroy();
        upstream.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
