import WebSocket from 'ws';
import type { WebSocketConstructor, WSClientOptions } from './options';
import { WSClient as BrowserWSClient } from './ws-client';

/**
 * The one place where Node takes a different path: the Node entry always uses the `ws` package.
 * Node 20 has no global WebSocket, and Node 22's (undici's, like a browser's) cannot tell a
 * refused upgrade (HTTP 401/403) from a network error, so a client with a wrong token would
 * retry in vain. Browsers and Bun use their own WebSocket through `llm-ws/client`.
 */
const nodeWebSocket = WebSocket as unknown as WebSocketConstructor;

/** {@link BrowserWSClient | WSClient} on the `ws` package, for Node. */
export class WSClient extends BrowserWSClient {
  constructor(options: WSClientOptions) {
    super({ WebSocketCtor: nodeWebSocket, ...options });
  }
}
