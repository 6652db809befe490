import type { ChunkMessage, CompleteMessage, ToolCallMessage, ToolResultMessage } from '../protocol/codecs';

/** Reconnect attempts in a row before giving up, unless configured. */
export const DEFAULT_RECONNECT_ATTEMPTS = 5;
/** Delay before the first reconnect attempt unless configured, in ms; doubled for each further one. */
export const DEFAULT_RECONNECT_DELAY_MS = 1000;
/** Cap on the reconnect delay unless configured, in ms. */
export const DEFAULT_MAX_RECONNECT_DELAY_MS = 30_000;
/** Share of each reconnect delay that is random unless configured: 1 is "full jitter". */
export const DEFAULT_RECONNECT_JITTER = 1;
/** Protocol ping period unless configured, in ms. */
export const DEFAULT_CLIENT_HEARTBEAT_INTERVAL_MS = 30_000;
/** Time allowed for a greeting, a control's answer, or a late heartbeat, unless configured, in ms. */
export const DEFAULT_TIMEOUT_MS = 10_000;
/** Messages kept while reconnecting unless configured. */
export const DEFAULT_MAX_QUEUE_SIZE = 100;

/** A WebSocket constructor: the browser's, Bun's, Node 22's, or the `ws` package's. */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocket;

/** Settings of a {@link WSClient}. Only `url` is required; defaults are the exported constants. */
export interface WSClientOptions {
  /** The server's WebSocket URL, for example `ws://localhost:3000/ws`. */
  readonly url: string;
  /** Reconnect attempts in a row before giving up; 0 never reconnects. @default DEFAULT_RECONNECT_ATTEMPTS */
  readonly reconnectAttempts?: number;
  /** Delay before the first reconnect, in ms, doubled for each further one. @default DEFAULT_RECONNECT_DELAY_MS */
  readonly reconnectDelay?: number;
  /** Cap on the reconnect delay, in ms. @default DEFAULT_MAX_RECONNECT_DELAY_MS */
  readonly maxReconnectDelay?: number;
  /** Share of each delay that is random, 0 (exact) to 1 (full jitter, applied after the cap). @default DEFAULT_RECONNECT_JITTER */
  readonly reconnectJitter?: number;
  /** Protocol ping period, in ms; a server silent for this plus `timeout` counts as gone. @default DEFAULT_CLIENT_HEARTBEAT_INTERVAL_MS */
  readonly heartbeatInterval?: number;
  /** Time for the server's greeting, for a control's answer, and slack for heartbeats, in ms. @default DEFAULT_TIMEOUT_MS */
  readonly timeout?: number;
  /** WebSocket subprotocols. */
  readonly protocols?: string | string[];
  /** Messages kept while reconnecting; sending more fails with `queue_full`. @default DEFAULT_MAX_QUEUE_SIZE */
  readonly maxQueueSize?: number;
  /** @default globalThis.WebSocket (the Node entry of llm-ws passes the `ws` package) */
  readonly WebSocketCtor?: WebSocketConstructor;
}

/** The client's connection, as `status$` reports it. */
export type ConnectionStatus = 'connecting' | 'connected' | 'reconnecting' | 'disconnected';

/** One event of a reply, as `send()` emits them; the last is always the `llm_complete`. */
export type ReplyEvent = ChunkMessage | ToolCallMessage | ToolResultMessage | CompleteMessage;

/** Traffic counters, as `getStats()` reports them. */
export interface ClientStats {
  readonly messagesSent: number;
  readonly messagesReceived: number;
  /** UTF-8 bytes of the frames sent. */
  readonly bytesSent: number;
  /** UTF-8 bytes of the frames received. */
  readonly bytesReceived: number;
  /** Reconnect attempts since `connect()`. */
  readonly reconnects: number;
  /** When the current connection was greeted; null while not connected. */
  readonly connectedSince: Date | null;
  /** Round trip of the last protocol ping, in ms; null before the first pong. */
  readonly lastRoundTripMs: number | null;
}

/** A reconnect about to happen, as `onReconnecting` reports it. */
export interface ReconnectAttempt {
  /** 1 for the first retry after a loss. */
  readonly attempt: number;
  readonly delayMs: number;
}

/** A connection that ended, as `onDisconnected` reports it. */
export interface DisconnectInfo {
  /** The close code, when the socket closed with one. */
  readonly code: number | undefined;
  readonly reason: string;
  /** Whether the client will try to reconnect. */
  readonly willReconnect: boolean;
}
