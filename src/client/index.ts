/**
 * `llm-ws/client`: the RxJS client. Browser-safe: no `ws`, no `openai`, no `node:` modules.
 * It uses `globalThis.WebSocket` unless given `WebSocketCtor`. Named exports only: each name here
 * is a public promise (test/api/public-surface.json lists them).
 */
export { WSClient, type ConversationPage, type ControlAnswer } from './ws-client';
export { ReactiveClient, type CompleteData } from './reactive-client';
// Opt-in: approvals and client tools (`new WSClient({ url, humanInTheLoop })`).
export { humanInTheLoop, type HumanInTheLoopFactory } from './human-in-the-loop';

// Options, their defaults, and what the client reports.
export {
  DEFAULT_RECONNECT_ATTEMPTS,
  DEFAULT_RECONNECT_DELAY_MS,
  DEFAULT_MAX_RECONNECT_DELAY_MS,
  DEFAULT_RECONNECT_JITTER,
  DEFAULT_CLIENT_HEARTBEAT_INTERVAL_MS,
  DEFAULT_TIMEOUT_MS,
  DEFAULT_MAX_QUEUE_SIZE,
  DEFAULT_QUEUE_TIMEOUT_MS,
  type WSClientOptions,
  type ReactiveClientOptions,
  type WebSocketConstructor,
  type SendOptions,
  type TraceContext,
  type ControlRequest,
  type ConnectionStatus,
  type ClientStats,
  type ReconnectAttempt,
  type DisconnectInfo,
  type ApprovalRequest,
  type ClientTool,
  type ClientToolContext,
  type SessionCredentials,
  // The seed's type names.
  type UserMessageData,
  type ConnectionStats,
  type WSMessage,
  type EventHandler,
  type ErrorEventHandler,
} from './options';

// RxJS operators for the client's streams.
export { retryWithBackoff, type BackoffOptions } from '../operators/retry-with-backoff';
export { replyOf, requestIdOf } from '../operators/reply-of';

// Errors.
export {
  LLMWSError,
  ProtocolError,
  ConnectionClosedError,
  ClientError,
  ServerError,
  type ClientErrorCode,
  type ConnectionErrorCode,
} from '../errors';

// The protocol as the client sees it: its types, and the decoder and encoder it runs. The io-ts
// codecs themselves are in `llm-ws/protocol`.
export { decodeServerMessage } from '../protocol/decode-server-message';
export type { RawFrame } from '../protocol/frame';
export { encodeMessage } from '../protocol/encode';
export { CloseCode } from '../protocol/codes';
export type { ServerMessageOf, ServerMessageType, ClientMessageType, ReplyEvent } from '../protocol/codecs';
export type {
  ServerMessage,
  ClientMessage,
  SessionStatus,
  ErrorCode,
  UserMessageOptions,
  ControlType,
  ChunkMessage,
  ReasoningMessage,
  ToolApprovalMessage,
  ClientToolResultMessage,
  ClientToolDeclaration,
  Attachment,
  CompleteMessage,
  ToolCallMessage,
  ToolResultMessage,
  ErrorMessage,
  HistoryMessage,
  HistoryAttachment,
  FinishReason,
  Usage,
  ConversationSummary,
} from '../protocol/message-types';
