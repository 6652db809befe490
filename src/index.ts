/**
 * llm-ws: stream LLM conversations over WebSocket, built on RxJS.
 *
 * The names most apps need, for Node. Named exports only: each name here is a public promise
 * (test/api/public-surface.json lists them). The rest is in the subpaths: option defaults and
 * everything of the server in `llm-ws/server`, the client's in `llm-ws/client`, the io-ts codecs
 * in `llm-ws/protocol`.
 */

// Server.
export {
  WSServer,
  memoryStore,
  redisStore,
  redisConversationBindings,
  redisAttachmentStore,
  defineTool,
  openAIProvider,
  openAIHealthCheck,
  offlineProvider,
  bearerTokenAuthentication,
  consoleLogger,
  silentLogger,
  type WSServerOptions,
  type WSServerEvent,
  type SessionInfo,
  type HealthReport,
  type ConversationOptions,
  type RedisClient,
  type RedisStoreOptions,
  type SessionStore,
  type Tool,
  type ToolContext,
  type LLMProvider,
  type LLMRequest,
  type LLMEvent,
  type OpenAIProviderOptions,
  type OfflineProviderOptions,
  type Authenticate,
  type TokenPrincipal,
  type Logger,
  type LogLevel,
} from './server';

// Client: the Node WSClient, on the `ws` package (`llm-ws/client` has the browser one).
export { WSClient } from './client/node';
export type {
  WSClientOptions,
  SendOptions,
  TraceContext,
  ReplyEvent,
  CompleteData,
  ConnectionStatus,
  ClientStats,
  // The seed's type names.
  UserMessageData,
  ConnectionStats,
  WSMessage,
  EventHandler,
  ErrorEventHandler,
} from './client';

// Protocol.
export {
  ServerMessage,
  ClientMessage,
  SessionStatus,
  decodeServerMessage,
  decodeClientMessage,
  encodeMessage,
  CloseCode,
  ErrorCode,
  type ServerMessageOf,
  type ServerMessageType,
} from './protocol';

// Errors.
export {
  LLMWSError,
  ProtocolError,
  UpstreamError,
  ToolError,
  ConnectionClosedError,
  ClientError,
  ServerError,
  type UpstreamErrorCode,
  type ToolErrorCode,
  type ClientErrorCode,
  type ConnectionErrorCode,
} from './errors';
