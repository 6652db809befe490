import type { Server } from 'node:http';
import type { Registry, RegistryContentType } from 'prom-client';
import type { LLMProvider } from '../llm/types';
import type { Authenticate } from './auth';
import type { RateLimit } from '../core/token-bucket';
import type { Tool } from '../tools/types';
import type { Telemetry } from '../core/telemetry';
import type { ConversationOptions } from '../core/conversation';
import type { Logger } from './logger';
import type { CompressionOptions } from './compression';
import type { SessionStore } from '../store/types';
import type { McpServerConfig } from '../tools/mcp/config';
import type { AttachmentStore } from '../core/attachments';
import type { ConversationBindings, QuotaCounter } from '../core/ports';
import type { MessageRate, TokenBudget } from '../core/usage-limits';
import type { ConcurrentMessages } from '../protocol/codecs';

/** Port unless configured. */
export const DEFAULT_PORT = 3000;
/** Host unless configured: loopback only, so a demo is never exposed by accident. */
export const DEFAULT_HOSTNAME = 'localhost';
/** WebSocket path unless configured. */
export const DEFAULT_PATH = '/ws';
/** Path of the AI SDK WebSocket chat endpoint unless configured (`WebSocketChatTransport` of `ai` 7). */
export const DEFAULT_AI_SDK_PATH = '/ai-sdk';
/** Path of the AG-UI endpoint unless configured (`POST` a `RunAgentInput`, get SSE). */
export const DEFAULT_AG_UI_PATH = '/ag-ui';
/** Concurrent connections unless configured. */
export const DEFAULT_MAX_CONNECTIONS = 100;
/** WebSocket ping period unless configured, in ms. */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 30_000;
/** Largest frame accepted unless configured, in bytes (1 MiB). */
export const DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024;
/** Longest `user_message` text accepted unless configured, in characters. */
export const DEFAULT_MAX_MESSAGE_LENGTH = 100_000;
/** How long a session outlives its connection unless configured, in ms (5 minutes). */
export const DEFAULT_SESSION_TTL_MS = 5 * 60_000;
/** Frames per connection and second unless configured, with bursts up to `burst`. */
export const DEFAULT_RATE_LIMIT: RateLimit = { ratePerSecond: 20, burst: 40 };
/** Buffered bytes on a connection above which chunks coalesce and the model stream waits (256 KiB). */
export const DEFAULT_HIGH_WATER_MARK_BYTES = 256 * 1024;
/** Buffered bytes on a connection above which it is closed with 4408 (8 MiB). */
export const DEFAULT_SEND_BUFFER_HARD_LIMIT_BYTES = 8 * 1024 * 1024;
/** Sessions this process holds at once unless configured (connected ones and those waiting for a resume). */
export const DEFAULT_MAX_SESSIONS = 10_000;
/** Bytes of history and replay this process's sessions may hold together unless configured (256 MiB). */
export const DEFAULT_SESSION_MEMORY_BUDGET_BYTES = 256 * 1024 * 1024;
/** What `stop()` tells clients to wait before reconnecting unless configured, in ms. */
export const DEFAULT_STOP_RETRY_AFTER_MS = 1000;

/**
 * Settings of a {@link WSServer}. Every field is optional; defaults are the exported constants.
 * The constructor checks them at run time too: a wrong type or range throws an `LLMWSError` with
 * code `invalid_options` naming the option; a name no option has is logged as a warning.
 */
export interface WSServerOptions {
  /** TCP port; 0 picks a free one (see `WSServer.port` after `start`). Not used with `server` or `noServer`. @default DEFAULT_PORT */
  readonly port?: number;
  /** Interface to listen on; `0.0.0.0` for all. @default DEFAULT_HOSTNAME */
  readonly hostname?: string;
  /** Path of the WebSocket endpoint. @default DEFAULT_PATH */
  readonly path?: string;
  /**
   * Path of the AI SDK endpoint: the WebSocket chat protocol of `ai` 7's `WebSocketChatTransport`,
   * so `useChat({ transport: new WebSocketChatTransport({ url }) })` streams from this server
   * (see docs/guide/ai-sdk-ag-ui.md, "Using llm-ws from the AI SDK"). `false` turns it off. Same authentication,
   * origins, `maxPayload` and heartbeat as `path`. @default DEFAULT_AI_SDK_PATH
   */
  readonly aiSdkPath?: string | false;
  /**
   * Path of the AG-UI endpoint: `POST` a `RunAgentInput`, get the run as AG-UI events over SSE,
   * as `HttpAgent` of `@ag-ui/client` (and CopilotKit) expect (see docs/guide/ai-sdk-ag-ui.md, "Using llm-ws from
   * AG-UI / CopilotKit"). Needs `@ag-ui/encoder` installed. Same authentication and origins as
   * `path`; bodies up to `maxPayload`. On the HTTP server llm-ws creates (with `server`, route it
   * yourself to `handleAgUi`). `false` turns it off. @default DEFAULT_AG_UI_PATH
   */
  readonly agUiPath?: string | false;
  /**
   * Where the AI SDK and AG-UI endpoints keep which session holds each chat or thread (per principal). Several
   * processes behind one address (the Redis store) need a shared one:
   * `redisConversationBindings({ url })` (yours to `close()` once the server stopped).
   * @default memoryConversationBindings()
   */
  readonly conversationBindings?: ConversationBindings;
  /** Connections beyond this are closed with 1013 (counted per endpoint: `path`, `aiSdkPath`). @default DEFAULT_MAX_CONNECTIONS */
  readonly maxConnections?: number;
  /**
   * Connections one session may have at once (tabs sharing it, on this process): a shared resume
   * past it is closed with 4429. @default DEFAULT_MAX_CONNECTIONS_PER_SESSION
   */
  readonly maxConnectionsPerSession?: number;
  /** WebSocket ping period in ms; a client that misses a pong is dropped. 0 disables. @default DEFAULT_HEARTBEAT_INTERVAL_MS */
  readonly heartbeatInterval?: number;
  /**
   * permessage-deflate: `true` for the defaults of {@link CompressionOptions} (frames from 1 KiB up
   * are compressed, each on its own, so streamed chunks cost no deflate), or the settings. Off by
   * default, unlike the seed's `true`: compressing every chunk frame (context takeover) cost 2x the
   * CPU per chunk paced and 4x at saturation in `npm run bench` (bench/RESULTS.md) to save ~120
   * bytes per chunk; turn it on where bandwidth costs more than CPU. @default false
   */
  readonly enableCompression?: boolean | CompressionOptions;
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
  /**
   * MCP servers whose tools the model may call beside `tools`: each a command (stdio) or a URL
   * (Streamable HTTP, with `headers` for auth). Their tools are named `<server>__<tool>`; `start()`
   * connects (a server that does not answer is retried in the background; its tools fail with a
   * tool error meanwhile) and `stop()` disconnects. Needs the optional peer dependency
   * `@modelcontextprotocol/sdk`. See docs/guide/node.md, "MCP tools". @default []
   */
  readonly mcpServers?: readonly McpServerConfig[];
  /**
   * Traces (and metrics) of replies, model calls and tool runs: `otelTelemetry()` from
   * `llm-ws/otel` for OpenTelemetry (docs/guide/operations.md, "Observability"), or your own {@link Telemetry}.
   * @default none
   */
  readonly telemetry?: Telemetry;
  /** Offer `get_current_time` and `calculate`. @default true */
  readonly builtinTools?: boolean;
  /** Rounds of tool calls per reply before the model must answer in text. @default DEFAULT_MAX_TOOL_STEPS */
  readonly maxToolSteps?: number;
  /** Longest silence between upstream chunks before the reply fails, in ms. @default DEFAULT_UPSTREAM_IDLE_TIMEOUT_MS */
  readonly upstreamIdleTimeoutMs?: number;
  /** @deprecated Use `upstreamIdleTimeoutMs` (this name goes in the next minor version). */
  readonly upstreamIdleTimeout?: number;
  /** Longest a tool call may run, in ms. @default DEFAULT_TOOL_TIMEOUT_MS */
  readonly toolTimeoutMs?: number;
  /**
   * Names of tools (built-in or given) whose calls wait for the user's approval, as if defined
   * with `needsApproval: true`; an unknown name is refused. @default []
   */
  readonly requireApproval?: readonly string[];
  /** How long a tool call waits for the user's approval before it counts as denied, in ms. @default DEFAULT_APPROVAL_TIMEOUT_MS */
  readonly approvalTimeoutMs?: number;
  /** How long the server waits for a client tool's result before the model is told it failed, in ms. @default DEFAULT_CLIENT_TOOL_TIMEOUT_MS */
  readonly clientToolTimeoutMs?: number;
  /** Largest client tool result taken, as JSON, in UTF-8 bytes; a larger one reaches the model as an error. @default DEFAULT_MAX_CLIENT_TOOL_RESULT_BYTES */
  readonly maxClientToolResultBytes?: number;
  /**
   * Keep the model's reasoning in history, as `reasoning` on its assistant messages (`get_history`
   * returns it; it is never sent back to the model). Off, reasoning is streamed and forgotten.
   * @default false
   */
  readonly keepReasoning?: boolean;
  /** @deprecated Use `toolTimeoutMs` (this name goes in the next minor version). */
  readonly toolTimeout?: number;
  /** Longest `user_message` text, in characters; longer ones get `message_too_long`. @default DEFAULT_MAX_MESSAGE_LENGTH */
  readonly maxMessageLength?: number;
  /**
   * Largest picture or file a `user_message` may carry, in bytes once decoded; a larger one gets
   * `attachment_too_large`. Attachments ride in the message's frame: by default the limit is what
   * fits in `maxPayload` beside the text (`attachmentBytesFor(maxPayload)`, base64 being 4/3 of
   * the bytes); set higher, raise `maxPayload` too. @default attachmentBytesFor(maxPayload): DEFAULT_MAX_ATTACHMENT_BYTES (528 KiB) with the default maxPayload
   */
  readonly maxAttachmentBytes?: number;
  /** Largest total of one message's attachments, in bytes once decoded. @default attachmentBytesFor(maxPayload): DEFAULT_MAX_MESSAGE_ATTACHMENT_BYTES (528 KiB) with the default maxPayload */
  readonly maxMessageAttachmentBytes?: number;
  /** Media types of attachments taken (`type/*` for all of a type); others get `unsupported_attachment`. `[]` takes none. @default DEFAULT_ATTACHMENT_MEDIA_TYPES */
  readonly attachmentMediaTypes?: readonly string[];
  /**
   * Whether a picture may be sent as a remote `https:` URL, passed to the model (which fetches it):
   * the server itself never fetches one. @default true
   */
  readonly attachmentUrls?: boolean;
  /** Where attachments' bytes are kept, by reference. @default memoryAttachmentStore() (per process) */
  readonly attachmentStore?: AttachmentStore;
  /** How long a session outlives its connection, in ms, so a client can resume it. @default DEFAULT_SESSION_TTL_MS */
  readonly sessionTtlMs?: number;
  /** @deprecated Use `sessionTtlMs` (this name goes in the next minor version). */
  readonly sessionTtl?: number;
  /**
   * Sessions this process holds at once. Past it, sessions waiting for a resume are dropped, the
   * one detached longest ago first (its resume gets `session_lost`); when none is left to drop,
   * a new connection is closed with 1013. @default DEFAULT_MAX_SESSIONS
   */
  readonly maxSessions?: number;
  /**
   * Bytes this process's sessions may hold together: their histories' text and replay logs (UTF-8).
   * Past it, as for `maxSessions`: detached sessions are dropped least recently used first, then
   * new connections are closed with 1013. With the Redis store, only sessions held by this
   * process count (see docs/guide/security.md, "Memory bounds"). @default DEFAULT_SESSION_MEMORY_BUDGET_BYTES
   */
  readonly sessionMemoryBudgetBytes?: number;
  /**
   * Most text one reply may have, over all its model calls, in UTF-8 bytes: past it the reply
   * ends with `reply_too_large` and its model request is cancelled. @default DEFAULT_MAX_REPLY_TEXT_BYTES
   */
  readonly maxReplyTextBytes?: number;
  /**
   * Most arguments one tool call of the model may have, in UTF-8 bytes: past it the reply ends
   * with `reply_too_large` and its model request is cancelled. @default DEFAULT_MAX_TOOL_ARGUMENTS_BYTES
   */
  readonly maxToolArgumentsBytes?: number;
  /**
   * Entries kept per session for resumes: a message, or up to 1,024 consecutive chunks of one
   * reply kept as one (so a reply of any number of chunks fits). @default DEFAULT_REPLAY_MAX_MESSAGES
   */
  readonly replayMaxMessages?: number;
  /**
   * UTF-8 bytes kept per session for resumes. Below `replayMaxBytesFor(maxReplyTextBytes)`, a long
   * reply can no longer be resumed whole after a drop (the client gets `resume_gap`).
   * @default replayMaxBytesFor(maxReplyTextBytes): DEFAULT_REPLAY_MAX_BYTES (10 MiB) with the default maxReplyTextBytes
   */
  readonly replayMaxBytes?: number;
  /** What a running reply does when its connection drops: run on for a resume, or cancel. A message's `options.onDisconnect` overrides it. @default 'continue' */
  readonly onDisconnect?: 'continue' | 'cancel';
  /**
   * What a `user_message` that arrives while a reply runs gets: answered once the replies before
   * it ended, in order (`'queue'`); answered at once, the running reply stopped (`'interrupt'`,
   * which also drops messages still waiting); or refused with `busy` (`'reject'`). The greeting
   * tells clients, so `WSClient` sends at once to a server that queues or interrupts.
   * @default DEFAULT_CONCURRENT_MESSAGES ('queue')
   */
  readonly concurrentMessages?: ConcurrentMessages;
  /**
   * With `concurrentMessages: 'queue'`: messages one session holds behind its running reply; one
   * more is refused with `queue_full`. @default DEFAULT_MAX_QUEUED_MESSAGES (16)
   */
  readonly maxQueuedMessages?: number;
  /** Frames per connection (token bucket); more get `rate_limited`. `false` for none. @default DEFAULT_RATE_LIMIT */
  readonly rateLimit?: RateLimit | false;
  /**
   * Tokens (input + output, summed over model calls; estimated at 4 characters a token when the
   * model reports none) each principal may spend per period. A `user_message` past it gets
   * `quota_exceeded` with `retryAfterMs` (until the period, opened by the principal's first
   * counted call, rolls over). A model call that starts within the budget runs to its end and
   * counts in full; a reply that crosses it stops before its next model call. Counted by
   * `quotaCounter`: per process unless it is shared. @default no budget
   */
  readonly tokenBudget?: TokenBudget;
  /** `user_message`s each principal may send per period; more get `quota_exceeded` with `retryAfterMs`. Counted by `quotaCounter`. @default no limit */
  readonly messageRate?: MessageRate;
  /**
   * Where `tokenBudget` and `messageRate` count. Several processes behind one address share a
   * principal's counts with `redisQuotaCounter({ url })` (yours to `close()` once the server
   * stopped). If it cannot be reached, messages go through unchecked (logged).
   * @default memoryQuotaCounter(): this process alone
   */
  readonly quotaCounter?: QuotaCounter;
  /**
   * Whose counters a principal uses. Without `authenticate` every connection is the same
   * (`undefined`) principal: one budget for the whole server. @default the principal as JSON with sorted keys
   */
  readonly quotaKey?: (principal: unknown) => string;
  /** Buffered bytes above which chunks coalesce and the model stream waits. @default DEFAULT_HIGH_WATER_MARK_BYTES */
  readonly highWaterMarkBytes?: number;
  /** @deprecated Use `highWaterMarkBytes` (this name goes in the next minor version). */
  readonly highWaterMark?: number;
  /** Buffered bytes above which a connection is closed with 4408. @default DEFAULT_SEND_BUFFER_HARD_LIMIT_BYTES */
  readonly sendBufferHardLimitBytes?: number;
  /** @deprecated Use `sendBufferHardLimitBytes` (this name goes in the next minor version). */
  readonly sendBufferHardLimit?: number;
  /** Who may connect: a principal, or null for HTTP 401. See `bearerTokenAuthentication`. @default everyone */
  readonly authenticate?: Authenticate;
  /**
   * Whether `GET /metrics` and the full `GET /health` need what `authenticate` accepts (the same
   * token as the WebSocket). Without it, `/metrics` answers 401 and `/health` only
   * `{ "status": "ok" }`, enough for a load balancer's probe. Needs `authenticate`.
   * @default true when `authenticate` is set
   */
  readonly metricsAuth?: boolean;
  /** Origins browsers may connect from; others get HTTP 403 (cross-site WebSocket hijacking). @default any */
  readonly allowedOrigins?: readonly string[];
  /** How long `stop()` tells clients to wait before reconnecting, in ms. @default DEFAULT_STOP_RETRY_AFTER_MS */
  readonly stopRetryAfterMs?: number;
  /** @deprecated Use `stopRetryAfterMs` (this name goes in the next minor version). */
  readonly stopRetryAfter?: number;
  /** A folder of static files to serve at `/` (the demo chat page: `llm-ws serve` passes its own). @default none */
  readonly demoDir?: string;
  /** Whether the model endpoint answers, for `/health` (cached, checked in the background). @default unknown */
  readonly upstreamHealthCheck?: () => Promise<boolean>;
  /** Where sessions live: this process (`memoryStore()`), or Redis shared by several processes (`redisStore(...)`). @default memoryStore() */
  readonly store?: SessionStore;
  /**
   * Serve on this HTTP server (an Express, Fastify or Nest app's) instead of creating one. llm-ws
   * then answers upgrades to `path` only, leaving every other upgrade to the server's other
   * listeners, and never listens: `port` and `hostname` are ignored, and a server that is not
   * listening yet at `start` is served from when you make it listen. `/health`, `/metrics` and
   * the demo page are yours to route (`health()`, `metricsRegistry`). @default none: llm-ws creates one
   */
  readonly server?: Server;
  /**
   * Create no HTTP server and listen to none: hand upgrades over with `handleUpgrade(request,
   * socket, head)`. Not with `server`. @default false
   */
  readonly noServer?: boolean;
  /**
   * What serves the WebSockets: `ws` on a node:http server, or `bun`, `Bun.serve`'s native
   * WebSockets (only under the Bun runtime; not with `server`, `noServer` or `enableCompression`).
   * With `bun` the other HTTP routes are the same; `/health` names the one in use. @default 'ws'
   */
  readonly transport?: 'ws' | 'bun';
  /**
   * Where the server logs: pino or any logger with its call forms (`(fields, message)` and
   * `(message)`), a child logger, or `console`. Errors go under `err`. @default consoleLogger() at DEFAULT_LOG_LEVEL ('info')
   */
  readonly logger?: Logger;
  /**
   * The prom-client registry to put the `llm_ws_*` metrics on (yours, to scrape with your other
   * metrics). One WSServer per registry. @default a registry of the server's own (`metricsRegistry`)
   */
  readonly registry?: Registry<RegistryContentType>;
  /** Also collect Node's default process metrics (`process_*`, `nodejs_*`) on the metrics registry. @default false */
  readonly collectDefaultMetrics?: boolean;
}
