/**
 * `llm-ws/angular`: llm-ws for Angular applications. `provideLlmWs(options)` registers an
 * injectable chat service, {@link LlmWsChat} (`injectLlmWsChat()`), signals first (`messages`,
 * `status`, `busy`, ...) with observables beside them for the `async` pipe. Angular (`@angular/core`) is an optional peer dependency: only this
 * entry imports it. Browser-safe, like `llm-ws/client`.
 */
export { provideLlmWs } from './provide';
export { LlmWsChat, injectLlmWsChat } from './chat';
export { LLM_WS_OPTIONS, DEFAULT_AUTO_CONNECT, type LlmWsOptions } from './options';
export {
  applyChatEvent,
  type ChatMessage,
  type ChatErrorCode,
  type ChatMessageStatus,
  type ChatToolCall,
  type ChatLogEvent,
} from './chat-log';
export { enterZone } from './enter-zone';
export type { ConnectionStatus, ReplyEvent } from '../client/options';
export type { SessionStatus, UserMessageOptions, ErrorCode } from '../protocol/message-types';
export type { ApprovalRequest } from '../client/options';
export type { ConversationSummary, Usage } from '../protocol/message-types';
export { LLMWSError } from '../errors';
