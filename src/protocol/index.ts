/**
 * `llm-ws/protocol`: the wire format as io-ts codecs, with pure decode and encode.
 * Imports io-ts and fp-ts only, so it runs anywhere. Named exports only: each name here is a
 * public promise (test/api/public-surface.json lists them).
 */

// Client messages: codecs (each also the type of its messages).
export {
  UserMessage,
  UserMessageOptions,
  ControlMessage,
  ControlType,
  PingMessage,
  ResumeMessage,
  ToolApprovalMessage,
  ClientToolResultMessage,
  ClientToolDeclaration,
  Attachment,
  ClientMessage,
  clientMessageCodecs,
  type ClientMessageType,
  type SessionMessageIn,
} from './codecs';

// Server messages.
export {
  SessionMessage,
  ChunkMessage,
  ReasoningMessage,
  CompleteMessage,
  ToolCallMessage,
  ToolCallStatus,
  ToolResultMessage,
  StatusMessage,
  HistoryReplyMessage,
  ErrorMessage,
  PongMessage,
  NotificationMessage,
  ClosingMessage,
  ServerMessage,
  serverMessageCodecs,
  type ServerMessageType,
  type ServerMessageOf,
  type ServerMessageInput,
  type PushMessage,
  type PushableMessageType,
  type ReplyEvent,
} from './codecs';

// Values inside messages.
export {
  MessageId,
  MAX_MESSAGE_ID_LENGTH,
  ToolName,
  MAX_CLIENT_TOOLS,
  MAX_ATTACHMENTS,
  MAX_CLIENT_TOOL_DESCRIPTION_LENGTH,
  MAX_CLIENT_TOOL_PARAMETERS_BYTES,
  MAX_CLIENT_TOOL_RESULT_ERROR_LENGTH,
  MAX_APPROVAL_REASON_LENGTH,
  SeqNumber,
  PositiveInt,
  Temperature,
  FinishReason,
  Usage,
  SessionStatus,
  ConcurrentMessages,
  HistoryMessage,
  HistoryAttachment,
  HistoryToolCall,
} from './codecs';

// Decode and encode; error and close codes; the errors decoding raises.
export { decodeClientMessage, decodeServerMessage, type RawFrame } from './decode';
export { encodeMessage } from './encode';
export { ErrorCode, CloseCode } from './codes';
export { LLMWSError, ProtocolError } from './errors';
