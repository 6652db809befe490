import { FakeWebSocket as KitSocket } from '../../src/testing/fake-websocket';

/**
 * The kit's {@link KitSocket} (src/testing, exported as `llm-ws/testing`) with a global registry
 * of the sockets made, for tests that pass the class itself as `WebSocketCtor`. New tests can use
 * `createFakeServer()` from the kit instead, which keeps one registry per server.
 */
export class FakeWebSocket extends KitSocket {
  static sockets: FakeWebSocket[] = [];

  constructor(url: string, protocols?: string | string[]) {
    super(url, protocols);
    FakeWebSocket.sockets.push(this);
  }

  /** The newest socket the client made. */
  static get latest(): FakeWebSocket {
    const socket = FakeWebSocket.sockets[FakeWebSocket.sockets.length - 1];
    if (!socket) throw new Error('the client has made no socket yet');
    return socket;
  }

  static reset(): void {
    FakeWebSocket.sockets = [];
  }
}
