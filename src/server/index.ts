/**
 * `llm-ws/server`: the WebSocket server and its parts, for Node.
 */
export { WSServer, type WSServerEvent, type SessionInfo, type HealthReport } from './ws-server';
export { createServerMetrics, type ServerMetrics, type MetricsGauges, type ResumeOutcome } from './metrics';
export { createUpstreamHealth, type UpstreamHealth } from './upstream-health';
export { createHttpRoutes, type HttpRoutesOptions } from './http-routes';
export * from './options';
export { type CompressionOptions } from './compression';
export {
  createConversation,
  trimHistory,
  DEFAULT_MAX_HISTORY_LENGTH,
  DEFAULT_SYSTEM_PROMPT,
  type Conversation,
  type ConversationOptions,
} from './conversation';
export {
  runReply,
  DEFAULT_MAX_TOOL_STEPS,
  DEFAULT_UPSTREAM_IDLE_TIMEOUT_MS,
  DEFAULT_MAX_REPLY_TEXT_BYTES,
  DEFAULT_MAX_TOOL_ARGUMENTS_BYTES,
  type ReplyContext,
  type ReplyLimits,
  type ReplyTimings,
} from './reply';
export { MAX_CHUNK_FRAME_CHARS } from './send-queue';
export {
  createSession,
  type Session,
  type SessionOptions,
  type SessionTransport,
  type BackpressureLimits,
  type SessionPersistence,
  type RemoteWriter,
} from './session';
export { createConnection, type Connection, type ConnectionOptions, type SessionRegistry, type ClaimResult } from './connection';
export * from '../store';
export { ReplayLog, DEFAULT_REPLAY_MAX_BYTES, DEFAULT_REPLAY_MAX_MESSAGES, type ReplayLimits, type ReplayResult } from './replay-log';
export { bearerTokenAuthentication, originAllowed, presentedToken, secretsEqual, type Authenticate, type TokenPrincipal } from './auth';
export { createTokenBucket, type RateLimit } from './token-bucket';
export { silentLogger, consoleLogger, childLogger, DEFAULT_LOG_LEVEL, type Logger, type LogFn, type LogLevel, type ConsoleLoggerOptions } from './logger';
export * from '../llm';
export * from '../tools';
export { UpstreamError, ToolError, RequestError, LLMWSError } from '../errors';
