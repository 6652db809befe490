/**
 * The native Bun adapter: the core's connections on `Bun.serve`'s own WebSockets (its `websocket`
 * handlers, `getBufferedAmount` and `drain`), not `ws` under Bun's Node emulation. Like
 * ./ws.ts it only upgrades, counts connections and turns frames into the core's calls; it
 * imports nothing of Node and nothing of Bun's types (the few members it uses are declared here).
 */
import type { ConnectionHandler, LLMWSCore } from '../core/make-server';
import type { Logger, Transport } from '../core/ports';
import { CloseCode } from '../protocol/codes';
import { DrainListeners } from './drain-listeners';

/** What a connection that ended with no close frame reports (RFC 6455). */
const ABNORMAL_CLOSURE = 1006;
/** `ServerWebSocket.readyState` of an open socket. */
const OPEN = 1;

/** Whether an upgrade may go ahead: with a principal, or refused with an HTTP status. */
export type BunUpgradeDecision =
  { readonly accept: true; readonly principal: unknown } | { readonly accept: false; readonly status: 401 | 403 | 500 };

/** What this adapter keeps on each of Bun's sockets (`ServerWebSocket.data`). */
export interface BunConnectionData {
  readonly principal: unknown;
  transport?: BunTransport;
  handler?: ConnectionHandler;
}

/** The members of Bun's `ServerWebSocket` the adapter uses. */
export interface BunWebSocket {
  readonly data: BunConnectionData;
  readonly readyState: number;
  /** -1: queued behind backpressure; 0: dropped; otherwise the bytes sent. */
  send(data: string): number;
  close(code?: number, reason?: string): void;
  getBufferedAmount(): number;
  /** Runs `callback`, the sends in it leaving in one write (uWebSockets' cork). */
  cork<T>(callback: (ws: BunWebSocket) => T): T;
}

/** The members of Bun's `Server` the adapter uses. */
export interface BunServer {
  upgrade(request: Request, options: { data: BunConnectionData }): boolean;
}

/** Settings of {@link useBunServer}. */
export interface BunAdapterOptions {
  /** Only upgrades to this path are ours. */
  readonly path: string;
  /** Largest frame accepted, in bytes; a bigger one closes that connection with 1009. */
  readonly maxPayload: number;
  /** Ping period in ms (Bun pings on its own and closes a connection silent for it); 0 disables. */
  readonly heartbeatInterval: number;
  /** Connections beyond this are accepted and closed at once with 1013 (try again later). */
  readonly maxConnections: number;
  readonly logger: Logger;
  /** Decides each upgrade (authentication, allowed origins) before any WebSocket exists. */
  decideUpgrade(request: Request): Promise<BunUpgradeDecision>;
}

/** The `websocket` handlers to give `Bun.serve`. */
export interface BunWebSocketHandlers {
  readonly maxPayloadLength: number;
  /** In seconds, as Bun takes it; 0 for none. */
  readonly idleTimeout: number;
  readonly sendPings: boolean;
  readonly perMessageDeflate: false;
  open(ws: BunWebSocket): void;
  message(ws: BunWebSocket, message: string | Uint8Array): void;
  close(ws: BunWebSocket, code: number, reason: string): void;
  drain(ws: BunWebSocket): void;
}

/** The WebSocket endpoint on a `Bun.serve`. */
export interface BunAdapter {
  /**
   * For `Bun.serve`'s `fetch`: takes a request for our path (upgrading it, or answering a
   * refusal) and resolves to `undefined` once upgraded or to the refusal's `Response`; resolves to
   * `null` for any other path, left to the caller's other routes.
   */
  fetch(request: Request, server: BunServer): Promise<Response | undefined | null>;
  readonly websocket: BunWebSocketHandlers;
  connectionCount(): number;
  /** Closes every connection with `code` and stops accepting; resolves once all closed (or `graceMs` passed). */
  close(code: number, reason: string, graceMs?: number): Promise<void>;
}

/** Frames held for the end of the tick past this many characters leave at once (chat chunks are ~100). */
const CORK_FLUSH_CHARS = 64 * 1024;

/**
 * One connection's socket as the core sees it. Bun buffers what the network did not take; its
 * `drain` is the signal.
 *
 * The frames of one tick leave in one write, as ../adapters/ws-transport.ts does on Node: outside
 * Bun's own handlers (where it corks by itself) every `send` is a system call, and a chunk read
 * from the model is sent from the model's HTTP response. So frames wait in an array until
 * `process.nextTick` and go out in one `cork`; each stays a frame of its own, in order.
 */
export class BunTransport implements Transport {
  private readonly drainListeners = new DrainListeners();
  /** Frames of this tick not yet handed to Bun. */
  private held: string[] = [];
  private heldChars = 0;
  /**
   * The end of the tick: the held frames go to Bun, and whoever waits for a drain checks
   * `bufferedAmount` again. Held frames count in it, and Bun fires `drain` only after a send it
   * could not take whole: a wait that began over held frames Bun then took at once has no other end.
   */
  private readonly tickEnded = (): void => {
    this.flush();
    this.drainListeners.fire();
  };
  private flush(): void {
    const frames = this.held;
    if (frames.length === 0) return;
    this.held = [];
    this.heldChars = 0;
    if (this.ws.readyState !== OPEN) return;
    if (frames.length === 1) {
      this.ws.send(frames[0] as string);
      return;
    }
    this.ws.cork((ws) => {
      for (const frame of frames) ws.send(frame);
    });
  }

  constructor(private readonly ws: BunWebSocket) {}

  send(text: string): void {
    if (this.ws.readyState !== OPEN) return;
    if (this.held.length === 0) process.nextTick(this.tickEnded);
    this.held.push(text);
    this.heldChars += text.length;
    // Large frames are offered to the network at once: `bufferedAmount` then says what it did not take.
    if (this.heldChars >= CORK_FLUSH_CHARS) this.flush();
  }

  close(code: number, reason: string): void {
    this.flush();
    this.ws.close(code, reason);
  }

  /** What Bun holds for the network, and what waits for the end of the tick (characters, about bytes for chat text). */
  bufferedAmount(): number {
    return this.ws.getBufferedAmount() + this.heldChars;
  }

  onDrain(listener: () => void): () => void {
    return this.drainListeners.add(listener);
  }

  /** Bun's `drain`: the send buffer shrank, whoever waits checks `bufferedAmount` again. */
  drained(): void {
    this.drainListeners.fire();
  }
}

const refusal = (status: number): Response => new Response(null, { status, headers: { Connection: 'close' } });

/**
 * Serves WebSocket upgrades on `options.path` with `core` through `Bun.serve`: pass `fetch` (first)
 * and `websocket` to it. Upgrades to other paths are left to the caller's routes.
 */
export function useBunServer(core: Pick<LLMWSCore, 'opened'>, options: BunAdapterOptions): BunAdapter {
  const accepted = new Set<BunWebSocket>();
  const closing = new Set<() => void>();
  let closed = false;

  return {
    fetch: async (request, server) => {
      if (new URL(request.url).pathname !== options.path) return null;
      if (closed) return refusal(503);
      let decision: BunUpgradeDecision;
      try {
        decision = await options.decideUpgrade(request);
      } catch (error) {
        options.logger.error({ err: error, url: request.url }, 'deciding an upgrade failed (authenticate threw?)');
        return refusal(500);
      }
      if (!decision.accept) return refusal(decision.status);
      if (server.upgrade(request, { data: { principal: decision.principal } })) return undefined;
      return new Response('a WebSocket upgrade was expected', { status: 426 });
    },
    websocket: {
      maxPayloadLength: options.maxPayload,
      idleTimeout: Math.ceil(options.heartbeatInterval / 1000),
      sendPings: options.heartbeatInterval > 0,
      perMessageDeflate: false,
      open: (ws) => {
        if (closed || accepted.size >= options.maxConnections) {
          ws.close(CloseCode.TryAgainLater, 'server at maxConnections: try again later');
          return;
        }
        accepted.add(ws);
        const transport = new BunTransport(ws);
        ws.data.transport = transport;
        ws.data.handler = core.opened(transport, ws.data.principal);
      },
      message: (ws, message) => {
        if (typeof message === 'string') ws.data.handler?.receive(message, false);
        else ws.data.handler?.receive(message, true);
      },
      close: (ws, code, reason) => {
        if (!accepted.delete(ws)) return;
        // Bun reports no code for a connection that went without a close frame.
        ws.data.handler?.closed(code || ABNORMAL_CLOSURE, reason);
        for (const listener of closing) listener();
      },
      drain: (ws) => ws.data.transport?.drained(),
    },
    connectionCount: () => accepted.size,
    close: async (code, reason, graceMs = 1000) => {
      closed = true;
      if (accepted.size === 0) return;
      await new Promise<void>((resolve) => {
        const check = (): void => {
          if (accepted.size > 0) return;
          closing.delete(check);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          closing.delete(check);
          resolve();
        }, graceMs);
        closing.add(check);
        for (const ws of [...accepted]) ws.close(code, reason);
      });
    },
  };
}
