import type { Server } from 'node:http';
import type { LLMProvider } from '../llm/types';
import type { Tool } from '../tools/types';
import type { ConversationOptions } from './conversation';
import type { Logger } from './logger';

/** Port unless configured. */
export const DEFAULT_PORT = 3000;
/** Host unless configured: loopback only, so a demo is never exposed by accident. */
export const DEFAULT_HOSTNAME = 'localhost';
/** WebSocket path unless configured. */
export const DEFAULT_PATH = '/ws';
/** Concurrent connections unless configured. */
export const DEFAULT_MAX_CONNECTIONS = 100;
/** WebSocket ping period unless configured, in ms. */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 30_000;
/** Largest frame accepted unless configured, in bytes (1 MiB). */
export const DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024;

/** Settings of a {@link WSServer}. Every field is optional; defaults are the exported constants. */
export interface WSServerOptions {
  /** TCP port; 0 picks a free one (see `WSServer.port` after `start`). @default DEFAULT_PORT */
  readonly port?: number;
  /** Interface to listen on; `0.0.0.0` for all. @default DEFAULT_HOSTNAME */
  readonly hostname?: string;
  /** Path of the WebSocket endpoint. @default DEFAULT_PATH */
  readonly path?: string;
  /** Connections beyond this are closed with 1013. @default DEFAULT_MAX_CONNECTIONS */
  readonly maxConnections?: number;
  /** WebSocket ping period in ms; a client that misses a pong is dropped. 0 disables. @default DEFAULT_HEARTBEAT_INTERVAL_MS */
  readonly heartbeatInterval?: number;
  /** permessage-deflate compression. @default false */
  readonly enableCompression?: boolean;
  /** Largest frame accepted, in bytes; a bigger one closes the connection with 1009. @default DEFAULT_MAX_PAYLOAD_BYTES */
  readonly maxPayload?: number;
  /** System prompt and history length of each conversation. */
  readonly conversationOptions?: ConversationOptions;
  /**
   * The model. @default `openAIProvider()` when OPENAI_API_KEY or OPENAI_BASE_URL is set,
   * else `offlineProvider()` (with a warning in the log)
   */
  readonly llm?: LLMProvider;
  /** Tools added to the built-in ones. @default [] */
  readonly tools?: readonly Tool[];
  /** Offer `get_current_time` and `calculate`. @default true */
  readonly builtinTools?: boolean;
  /** Rounds of tool calls per reply before the model must answer in text. @default DEFAULT_MAX_TOOL_STEPS */
  readonly maxToolSteps?: number;
  /** Longest silence between upstream chunks before the reply fails, in ms. @default DEFAULT_UPSTREAM_IDLE_TIMEOUT_MS */
  readonly upstreamIdleTimeout?: number;
  /** Longest a tool call may run, in ms. @default DEFAULT_TOOL_TIMEOUT_MS */
  readonly toolTimeout?: number;
  /** Serve on this HTTP server instead of creating one; `start` then listens only if it is not listening yet. */
  readonly server?: Server;
  /** @default console */
  readonly logger?: Logger;
}
