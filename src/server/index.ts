/**
 * `llm-ws/server`: the WebSocket server and its parts, for Node.
 */
export { WSServer, type WSServerEvent, type SessionInfo } from './ws-server';
export * from './options';
export {
  createConversation,
  trimHistory,
  DEFAULT_MAX_HISTORY_LENGTH,
  DEFAULT_SYSTEM_PROMPT,
  type Conversation,
  type ConversationOptions,
} from './conversation';
export { runReply, DEFAULT_MAX_TOOL_STEPS, DEFAULT_UPSTREAM_IDLE_TIMEOUT_MS, type ReplyContext } from './reply';
export { createSession, type Session, type SessionOptions, type SessionTransport } from './session';
export { silentLogger, type Logger } from './logger';
export * from '../llm';
export * from '../tools';
export { UpstreamError, ToolError, RequestError, LLMWSError } from '../errors';
