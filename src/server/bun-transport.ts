/**
 * WSServer's `transport: 'bun'`: the WebSocket endpoints on `Bun.serve`'s native WebSockets
 * (../adapters/bun.ts), everything else (health, metrics, demo page, attachments, AG-UI POST)
 * answered by the one set of node:http route handlers. Bun serves node:http handlers natively but
 * not on `Bun.serve`'s port, so they listen on a loopback port of their own and `Bun.serve`
 * forwards each plain HTTP request there: one implementation of each route, off the hot path.
 */
import { createServer, IncomingMessage, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Socket } from 'node:net';
import type { LLMWSCore } from '../core/make-server';
import type { Logger } from '../core/ports';
import {
  type BunAdapter,
  type BunConnectionData,
  type BunServer,
  type BunUpgradeDecision,
  type BunWebSocket,
  useBunServer,
} from '../adapters/bun';
import type { WebSocketAdapter } from '../adapters/ws';

/** The members of Bun's `Server` (what `Bun.serve` returns) used here. */
interface BunServeHandle extends BunServer {
  readonly port: number;
  readonly hostname: string;
  stop(closeActiveConnections?: boolean): Promise<void> | void;
}

/** The one member of the `Bun` global used here. */
interface BunGlobal {
  serve(options: {
    port: number;
    hostname: string;
    fetch(request: Request, server: BunServeHandle): Promise<Response | undefined> | Response | undefined;
    websocket: BunAdapter['websocket'];
  }): BunServeHandle;
}

/** The `Bun` global when this process runs under Bun, else undefined. */
export function bunRuntime(): BunGlobal | undefined {
  return (globalThis as { Bun?: BunGlobal }).Bun;
}

/** Each socket's data, with the endpoint (main or AI SDK) it was upgraded by. */
type TaggedData = BunConnectionData & { endpoint: BunAdapter };

/** Settings of {@link serveOnBun}. */
export interface BunTransportOptions {
  readonly port: number;
  readonly hostname: string;
  readonly maxPayload: number;
  readonly heartbeatInterval: number;
  readonly maxConnections: number;
  readonly logger: Logger;
  /** The node:http handler of every plain HTTP request (createHttpRoutes). */
  readonly routes: RequestListener;
  /** The WebSocket endpoints: the protocol's, and the AI SDK's when on. */
  readonly endpoints: readonly { readonly path: string; readonly core: Pick<LLMWSCore, 'opened'> }[];
  /** Decides each upgrade (origin, `authenticate`) on the node:http form of the request. */
  decideUpgrade(request: IncomingMessage): Promise<BunUpgradeDecision>;
}

/** What WSServer keeps of a Bun transport: the adapter interface it stops and counts through, and where it listens. */
export interface BunTransportHandle extends WebSocketAdapter {
  readonly address: AddressInfo;
}

/**
 * The request as node:http would hand it to `authenticate` (method, url, headers; no body): an
 * `IncomingMessage` on an unconnected socket, so `Authenticate` keeps one signature.
 */
function incomingMessageOf(request: Request): IncomingMessage {
  const message = new IncomingMessage(new Socket());
  const url = new URL(request.url);
  message.method = request.method;
  message.url = url.pathname + url.search;
  const headers: Record<string, string> = {};
  request.headers.forEach((value, name) => (headers[name] = value));
  message.headers = headers;
  return message;
}

/**
 * Listens with `Bun.serve` on `port`/`hostname`; rejects if not under Bun or the port is taken.
 * `close` closes the WebSockets, then both listeners.
 */
export async function serveOnBun(options: BunTransportOptions): Promise<BunTransportHandle> {
  const bun = bunRuntime();
  if (!bun) throw new Error("transport 'bun' needs the Bun runtime (run with `bun`)");
  const routes = createServer(options.routes);
  await new Promise<void>((resolve, reject) => {
    routes.once('error', reject);
    routes.listen(0, '127.0.0.1', () => resolve());
  });
  const routesOrigin = `http://127.0.0.1:${(routes.address() as AddressInfo).port}`;
  const adapters = options.endpoints.map(({ path, core }) =>
    useBunServer(core, {
      path,
      maxPayload: options.maxPayload,
      heartbeatInterval: options.heartbeatInterval,
      maxConnections: options.maxConnections,
      logger: options.logger,
      decideUpgrade: (request) => options.decideUpgrade(incomingMessageOf(request)),
    }),
  );
  const closeRoutes = (): Promise<void> =>
    new Promise((resolve) => {
      routes.closeAllConnections();
      routes.close(() => resolve());
    });
  // Handlers of one endpoint's adapter: each socket goes back to the adapter that upgraded it.
  const of = (ws: BunWebSocket): BunAdapter['websocket'] => (ws.data as TaggedData).endpoint.websocket;
  let server: BunServeHandle;
  try {
    server = bun.serve({
      port: options.port,
      hostname: options.hostname,
      fetch: async (request, bunServer) => {
        for (const adapter of adapters) {
          const tagging: BunServer = {
            upgrade: (upgraded, { data }) =>
              bunServer.upgrade(upgraded, { data: { ...data, endpoint: adapter } as TaggedData }),
          };
          const answer = await adapter.fetch(request, tagging);
          if (answer !== null) return answer;
        }
        const url = new URL(request.url);
        // Forwarded as it came; the abort signal ends the inner request (an AG-UI stream) when the client goes.
        return fetch(routesOrigin + url.pathname + url.search, {
          method: request.method,
          headers: request.headers,
          body: request.method === 'GET' || request.method === 'HEAD' ? null : request.body,
          redirect: 'manual',
          signal: request.signal,
          duplex: 'half',
        } as RequestInit);
      },
      websocket: {
        ...(adapters[0] as BunAdapter).websocket,
        open: (ws) => of(ws).open(ws),
        message: (ws, message) => of(ws).message(ws, message),
        close: (ws, code, reason) => of(ws).close(ws, code, reason),
        drain: (ws) => of(ws).drain(ws),
      },
    });
  } catch (error) {
    await closeRoutes();
    throw error;
  }
  return {
    address: { address: server.hostname, family: server.hostname.includes(':') ? 'IPv6' : 'IPv4', port: server.port },
    handleUpgrade: () => false,
    connectionCount: () => adapters.reduce((sum, adapter) => sum + adapter.connectionCount(), 0),
    close: async (code, reason, graceMs) => {
      await Promise.all(adapters.map((adapter) => adapter.close(code, reason, graceMs)));
      await server.stop(true);
      await closeRoutes();
    },
  };
}
