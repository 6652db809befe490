import { WSClient } from '../../src/client/node';
import { createTcpProxy, type TcpProxy } from './tcp-proxy';

/** A WSClient that reaches the server on `port` (path /ws) through a proxy of its own, reconnecting fast. */
export async function connectThroughProxy(port: number): Promise<{ client: WSClient; proxy: TcpProxy }> {
  const proxy = await createTcpProxy(port);
  const client = new WSClient({
    url: `ws://127.0.0.1:${proxy.port}/ws`,
    reconnectDelay: 20,
    maxReconnectDelay: 100,
    reconnectAttempts: 20,
  });
  await client.connect();
  return { client, proxy };
}
