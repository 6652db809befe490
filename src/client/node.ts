import WebSocket from 'ws';
import type { WebSocketConstructor, WSClientOptions } from './options';
import { WSClient as BrowserWSClient } from './ws-client';

/**
 * The one place where Node needs a different path: Node 20 has no global WebSocket, so the
 * Node entry falls back to the `ws` package. Browsers, Bun and Node 22+ use their own.
 */
const defaultWebSocket = ((globalThis as { WebSocket?: WebSocketConstructor }).WebSocket ??
  (WebSocket as unknown as WebSocketConstructor)) satisfies WebSocketConstructor;

/** {@link BrowserWSClient | WSClient} with a WebSocket for every Node version. */
export class WSClient extends BrowserWSClient {
  constructor(options: WSClientOptions) {
    super({ WebSocketCtor: defaultWebSocket, ...options });
  }
}
