/**
 * `llm-ws/server`: the WebSocket server and what configures it, for Node. Named exports only:
 * each name here is a public promise (test/api/public-surface.json lists them).
 */
export { WSServer, type WSServerEvent, type SessionInfo, type HealthReport } from './ws-server';

// The transport-agnostic core, for adapters of other socket libraries and runtimes
// (docs/ARCHITECTURE.md, "Writing an adapter"), and the ports it is built on.
export {
  makeServer,
  type MakeServerOptions,
  type SharedSessionOptions,
  type ServerHooks,
  type ConnectionHandler,
  type LLMWSCore,
} from '../core/make-server';
export { makeServerOptions, type CoreServerOptions } from './core-options';
export type { ResumeOutcome } from '../core/connection';
export type { RawFrame } from '../protocol/decode';
export type {
  Transport,
  Session,
  Sender,
  RemoteSender,
  SessionDirectory,
  SessionStoreContext,
  LocalSessions,
  SessionInit,
  SessionPersistence,
  SessionBudget,
  ClaimResult,
  RecordsHealth,
  StoreHealth,
  Coordination,
  CoordinationMessage,
  SessionOwner,
  SharedMeta,
  LoadedSession,
  SharedSessionRecords,
  SharedStoreParts,
  ShareClaim,
  StoredFrame,
  BackpressureLimits,
  ReplayLimits,
  ReplayResult,
} from '../core/ports';

// Options and their defaults (each option's `@default`).
export {
  DEFAULT_PORT,
  DEFAULT_HOSTNAME,
  DEFAULT_PATH,
  DEFAULT_AI_SDK_PATH,
  DEFAULT_AG_UI_PATH,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  DEFAULT_MAX_PAYLOAD_BYTES,
  DEFAULT_MAX_MESSAGE_LENGTH,
  DEFAULT_SESSION_TTL_MS,
  DEFAULT_RATE_LIMIT,
  DEFAULT_HIGH_WATER_MARK_BYTES,
  DEFAULT_SEND_BUFFER_HARD_LIMIT_BYTES,
  DEFAULT_MAX_SESSIONS,
  DEFAULT_SESSION_MEMORY_BUDGET_BYTES,
  DEFAULT_STOP_RETRY_AFTER_MS,
  type WSServerOptions,
} from './options';
export {
  DEFAULT_COMPRESSION_THRESHOLD_BYTES,
  DEFAULT_COMPRESSION_LEVEL,
  DEFAULT_COMPRESSION_MEM_LEVEL,
  type CompressionOptions,
} from './compression';
export { DEFAULT_MAX_HISTORY_LENGTH, DEFAULT_SYSTEM_PROMPT, type ConversationOptions } from '../core/conversation';
export { DEFAULT_CONCURRENT_MESSAGES, DEFAULT_MAX_QUEUED_MESSAGES } from '../core/waiting-messages';
export {
  DEFAULT_MAX_TOOL_STEPS,
  DEFAULT_UPSTREAM_IDLE_TIMEOUT_MS,
  DEFAULT_MAX_REPLY_TEXT_BYTES,
  DEFAULT_MAX_TOOL_ARGUMENTS_BYTES,
} from '../core/reply';
export {
  DEFAULT_MAX_ATTACHMENT_BYTES,
  ATTACHMENT_FRAME_HEADROOM_BYTES,
  attachmentBytesFor,
  DEFAULT_MAX_MESSAGE_ATTACHMENT_BYTES,
  DEFAULT_ATTACHMENT_MEDIA_TYPES,
  type AttachmentStore,
} from '../core/attachments';
export { memoryAttachmentStore, DEFAULT_ATTACHMENT_MEMORY_BYTES } from '../store/memory-attachments';
export { DEFAULT_REPLAY_MAX_BYTES, DEFAULT_REPLAY_MAX_MESSAGES, replayMaxBytesFor } from '../core/replay-log';
export { DEFAULT_MAX_CONNECTIONS_PER_SESSION } from '../core/connection';
export type { RateLimit } from '../core/token-bucket';
export type { Telemetry, ReplyStart, ReplyTrace, ReplyEnding } from '../core/telemetry';

// Authentication and logging.
export { bearerTokenAuthentication, type Authenticate, type TokenPrincipal } from './auth';
export {
  consoleLogger,
  silentLogger,
  DEFAULT_LOG_LEVEL,
  type Logger,
  type LogFn,
  type LogLevel,
  type ConsoleLoggerOptions,
} from './logger';

// Session stores.
export {
  memoryStore,
  redisStore,
  DEFAULT_REDIS_URL,
  DEFAULT_REDIS_PREFIX,
  DEFAULT_REDIS_LEASE_MS,
  DEFAULT_REDIS_COMMAND_TIMEOUT_MS,
  type RedisClient,
  type RedisStoreOptions,
  type SessionStore,
  sqliteStore,
  sqliteRecords,
  DEFAULT_SQLITE_BATCH_MS,
  type SqliteRecordsOptions,
  createRecordsDirectory,
  postgresStore,
  postgresRecords,
  DEFAULT_POSTGRES_BATCH_MS,
  DEFAULT_POSTGRES_TABLE_PREFIX,
  type PostgresRecordsOptions,
} from '../store';

// Protocol adapters: the AI SDK's WebSocket chat protocol, and where their conversations are bound.
export {
  createAiSdkEndpoint,
  defaultPrincipalKey,
  MAX_AI_SDK_CHATS_PER_SOCKET,
  MAX_QUEUED_AI_SDK_FRAMES,
  type AiSdkEndpointOptions,
} from '../adapters/ai-sdk/endpoint';
export { createAgUiEndpoint, type AgUiEndpointOptions } from '../adapters/ag-ui/endpoint';
export { memoryConversationBindings, DEFAULT_MAX_CONVERSATION_BINDINGS } from '../adapters/conversation-bindings';
export { redisConversationBindings, type RedisConversationBindingsOptions } from '../store/redis';
export {
  redisAttachmentStore,
  DEFAULT_REDIS_ATTACHMENT_TTL_MS,
  type RedisAttachmentStoreOptions,
} from '../store/redis';
export type { ConversationBinding, ConversationBindings } from '../core/ports';

// Per-principal token budgets and message rates, and where they count.
export { memoryQuotaCounter } from '../store/memory-quota';
export { redisQuotaCounter, type RedisQuotaCounterOptions } from '../store/redis';
export type { QuotaCounter, QuotaWindow } from '../core/ports';
export type { TokenBudget, MessageRate } from '../core/usage-limits';

// The model.
export {
  openAIProvider,
  openAIHealthCheck,
  DEFAULT_MODEL,
  DEFAULT_MAX_RETRY_AFTER_MS,
  type OpenAIProviderOptions,
} from '../llm/openai-provider';
export type { UpstreamHttpClient } from '../llm/openai-direct';
export { offlineProvider, DEFAULT_OFFLINE_CHUNK_DELAY_MS, type OfflineProviderOptions } from '../llm/offline-provider';
export type {
  LLMProvider,
  LLMRequest,
  LLMEvent,
  LLMToolDefinition,
  LLMFinishReason,
  LLMCallContext,
  LLMProviderInfo,
  JSONSchema,
} from '../llm/types';

// Tools.
export { defineTool, type Tool, type ToolContext, type ToolOutcome } from '../tools/types';
export { DEFAULT_TOOL_TIMEOUT_MS } from '../tools/registry';
export {
  DEFAULT_APPROVAL_TIMEOUT_MS,
  DEFAULT_CLIENT_TOOL_TIMEOUT_MS,
  DEFAULT_MAX_CLIENT_TOOL_RESULT_BYTES,
} from '../tools/client-answers';
export { jsonSchemaOf } from '../tools/codec-schema';
export { calculateTool } from '../tools/builtin/calculate';
export { DEFAULT_MCP_MAX_TOOLS, type McpServerConfig } from '../tools/mcp/config';
export { DEFAULT_MAX_MCP_RESULT_BYTES } from '../tools/mcp/result';
export { MCP_TOOL_NAME_SEPARATOR } from '../tools/mcp/names';
export { getCurrentTimeTool } from '../tools/builtin/current-time';

// Errors a server's code may meet: a rejected push, a model or tool failure.
export {
  LLMWSError,
  ProtocolError,
  UpstreamError,
  ToolError,
  type UpstreamErrorCode,
  type ToolErrorCode,
} from '../errors';
export type { ErrorCode } from '../protocol/message-types';
export type { PushMessage } from '../protocol/codecs';
