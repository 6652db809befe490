/**
 * `llm-ws/testing`: test code built on llm-ws without a network or a model. Browser-safe (no
 * `node:` imports): a fake server whose sockets the client takes as `WebSocketCtor`, and
 * factories for every server message. The OpenAI-compatible HTTP test server, which needs Node,
 * is in `llm-ws/testing/node`. Named exports only: each name here is a public promise
 * (test/api/public-surface.json lists them).
 */
export {
  createFakeServer,
  FakeWebSocket,
  type ClientMessageOf,
  type FakeServer,
  type FakeServerOptions,
  type ReceivedFrame,
} from './fake-websocket';
export {
  makeServerMessage,
  makeSession,
  makeChunk,
  makeReasoning,
  makeComplete,
  makeToolCall,
  makeToolResult,
  makeStatus,
  makeHistory,
  makeError,
  makePong,
  makeNotification,
  makeClosing,
  makeConversations,
  makeConversationUpdated,
  makeReply,
  type Envelope,
} from './server-messages';
export { replyMarbles, type ReplyMarbleValue } from './reply-marbles';
export { offlineProvider, type OfflineProviderOptions } from '../llm/offline-provider';
