/**
 * The Node `ws` adapter, the only module that touches `ws` on the server: upgrade, limits,
 * heartbeat and frames to strings. It calls the core's `opened(transport, principal)` for each
 * accepted socket; everything above it sees a `Transport` (./ws-transport) and text.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { type PerMessageDeflateOptions, type RawData, WebSocket, WebSocketServer } from 'ws';
import type { ConnectionHandler, LLMWSCore } from '../core/make-server';
import type { Logger } from '../core/ports';
import { CloseCode } from '../protocol/codes';
import { pathnameOf, refuseUpgrade } from './http-upgrade';
import { WebSocketTransport } from './ws-transport';

/** What a connection that ended with no close frame reports (RFC 6455). */
const ABNORMAL_CLOSURE = 1006;

/** ws' errors for a client's frame it refuses, and the close code it sends for each. */
const RECEIVER_CLOSE_CODES: Readonly<Record<string, number>> = {
  WS_ERR_UNSUPPORTED_MESSAGE_LENGTH: CloseCode.MessageTooBig,
  WS_ERR_INVALID_UTF8: 1007,
  WS_ERR_INVALID_CLOSE_CODE: 1002,
  WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH: 1002,
  WS_ERR_INVALID_OPCODE: 1002,
  WS_ERR_EXPECTED_FIN: 1002,
  WS_ERR_EXPECTED_MASK: 1002,
  WS_ERR_UNEXPECTED_MASK: 1002,
  WS_ERR_UNEXPECTED_RSV_1: 1002,
  WS_ERR_UNEXPECTED_RSV_2_3: 1002,
};

/** Whether an upgrade may go ahead: with a principal, or refused with an HTTP status. */
export type UpgradeDecision =
  { readonly accept: true; readonly principal: unknown } | { readonly accept: false; readonly status: 401 | 403 | 500 };

/** Settings of {@link useWsServer}. */
export interface WebSocketAdapterOptions {
  /**
   * The HTTP server whose upgrades to listen to; none when the caller hands them over
   * (`handleUpgrade`), as a server of several endpoints does.
   */
  readonly server?: Server;
  /**
   * Whether the HTTP server is ours alone: then upgrades to other paths get HTTP 404. On a server
   * of the caller's they are left to its other `upgrade` listeners, untouched, and get 404 only
   * when there is no other listener to answer them.
   */
  readonly ownsServer: boolean;
  /** Only upgrades to this path are ours. */
  readonly path: string;
  /** Largest frame accepted, in bytes; a bigger one closes that connection with 1009. */
  readonly maxPayload: number;
  /** ws's permessage-deflate settings, false for none. */
  readonly perMessageDeflate: false | PerMessageDeflateOptions;
  /** Ping period in ms; a connection that missed the previous ping's pong is terminated. 0 disables. */
  readonly heartbeatInterval: number;
  /** Connections beyond this are accepted and closed at once with 1013 (try again later). */
  readonly maxConnections: number;
  readonly logger: Logger;
  /** Decides each upgrade (authentication, allowed origins) before any WebSocket exists. */
  decideUpgrade(request: IncomingMessage): Promise<UpgradeDecision>;
}

/** The attached WebSocket endpoint. */
export interface WebSocketAdapter {
  /**
   * Takes an upgrade if it is for our path (answering it: 101, or a refusal) and returns true;
   * returns false without touching the socket for any other path.
   */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): boolean;
  connectionCount(): number;
  /** Closes every connection with `code` (terminating those that do not close within `graceMs`) and stops accepting. */
  close(code: number, reason: string, graceMs?: number): Promise<void>;
}

const textOf = (data: RawData): string =>
  Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8');
const bytesOf = (data: RawData): Uint8Array =>
  Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);

/** A socket that fails mid-upgrade just goes: a listener without a closure, so it keeps nothing alive. */
function destroyOnError(this: Duplex): void {
  this.destroy();
}

/** The handler of a connection, kept on its WebSocket so the listeners can be shared by all of them. */
const kHandler = Symbol('llm-ws handler');
type HandledWebSocket = WebSocket & { [kHandler]: ConnectionHandler };

/**
 * Serves WebSocket upgrades on `options.path` with `core`: of `options.server` if given
 * (listening to its `upgrade` event), and of whatever the caller hands to `handleUpgrade`.
 * Upgrades to other paths are left alone for the server's other endpoints.
 */
export function useWsServer(core: Pick<LLMWSCore, 'opened'>, options: WebSocketAdapterOptions): WebSocketAdapter {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: options.maxPayload,
    perMessageDeflate: options.perMessageDeflate,
  });
  // Sockets that got a session; those refused with 1013 are in `wss.clients` until they close.
  const accepted = new Set<WebSocket>();
  const alive = new WeakMap<WebSocket, boolean>();
  /** The close code ws sent a client whose frame it refused (see RECEIVER_CLOSE_CODES). */
  const refusedWith = new WeakMap<WebSocket, number>();

  let closed = false;

  const handleUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): boolean => {
    if (pathnameOf(request) !== options.path) return false;
    if (closed) {
      refuseUpgrade(socket, 503);
      return true;
    }
    // A client that vanishes mid-upgrade is no error of ours. (A closure here would share this
    // call's scope and keep the upgrade request alive as long as the connection.)
    socket.on('error', destroyOnError);
    options.decideUpgrade(request).then(
      (decision) => {
        if (socket.destroyed) return;
        if (!decision.accept) return refuseUpgrade(socket, decision.status);
        wss.handleUpgrade(request, socket, head, (ws) => {
          if (accepted.size >= options.maxConnections) {
            ws.close(CloseCode.TryAgainLater, 'server at maxConnections: try again later');
            return;
          }
          accept(ws, decision.principal, socket);
        });
      },
      (error: unknown) => {
        options.logger.error({ err: error, url: request.url }, 'deciding an upgrade failed (authenticate threw?)');
        if (!socket.destroyed) refuseUpgrade(socket, 500);
      },
    );
    return true;
  };

  // Another path is some other endpoint's (graphql-ws, socket.io, HMR): answering it too would
  // write a second response into its WebSocket. Only a server with no one else to answer gets 404.
  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    if (handleUpgrade(request, socket, head)) return;
    if (options.ownsServer || options.server?.listenerCount('upgrade') === 1) refuseUpgrade(socket, 404);
  };

  // Listeners shared by every connection (`this` is the WebSocket): thousands of idle
  // connections cost no closures each.
  function onPong(this: WebSocket): void {
    alive.set(this, true);
  }
  function onMessage(this: WebSocket, data: RawData, isBinary: boolean): void {
    alive.set(this, true);
    (this as HandledWebSocket)[kHandler].receive(isBinary ? bytesOf(data) : textOf(data), isBinary);
  }
  function onError(this: WebSocket, error: Error & { code?: string }): void {
    const closeCode = error.code === undefined ? undefined : RECEIVER_CLOSE_CODES[error.code];
    if (closeCode === undefined) return options.logger.warn({ err: error }, 'websocket error');
    // A client's bad frame (too large, not UTF-8): ws closes with closeCode, but its own close
    // event says 1006 (it stops reading before the client's close frame). One line, no stack: it
    // is the client's doing, and one per frame.
    refusedWith.set(this, closeCode);
    options.logger.warn({ code: error.code, closeCode }, `websocket closed: ${error.message}`);
  }
  function onClose(this: WebSocket, code: number, reason: Buffer): void {
    accepted.delete(this);
    const refused = refusedWith.get(this);
    (this as HandledWebSocket)[kHandler].closed(
      code === ABNORMAL_CLOSURE && refused !== undefined ? refused : code,
      reason.toString(),
    );
  }

  const accept = (ws: WebSocket, principal: unknown, socket: Duplex): void => {
    accepted.add(ws);
    alive.set(ws, true);
    (ws as HandledWebSocket)[kHandler] = core.opened(new WebSocketTransport(ws, socket), principal);
    ws.on('pong', onPong);
    ws.on('message', onMessage);
    ws.on('error', onError);
    ws.once('close', onClose);
  };

  // One timer for all connections, not one per connection.
  const heartbeat =
    options.heartbeatInterval > 0
      ? setInterval(() => {
          for (const ws of wss.clients) {
            if (!alive.get(ws)) {
              ws.terminate();
              continue;
            }
            alive.set(ws, false);
            ws.ping();
          }
        }, options.heartbeatInterval)
      : undefined;
  heartbeat?.unref();

  options.server?.on('upgrade', onUpgrade);

  return {
    handleUpgrade,
    connectionCount: () => accepted.size,
    close: async (code, reason, graceMs = 1000) => {
      closed = true;
      options.server?.off('upgrade', onUpgrade);
      if (heartbeat) clearInterval(heartbeat);
      const closing = [...wss.clients].map(
        (ws) =>
          new Promise<void>((resolve) => {
            if (ws.readyState === WebSocket.CLOSED) return resolve();
            const timer = setTimeout(() => ws.terminate(), graceMs);
            ws.once('close', () => {
              clearTimeout(timer);
              resolve();
            });
            ws.close(code, reason);
          }),
      );
      await Promise.all(closing);
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
