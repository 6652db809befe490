/**
 * `llm-ws/testing`: test code built on llm-ws without a network or a model. Browser-safe (no
 * `node:` imports): a fake server whose sockets the client takes as `WebSocketCtor`, and
 * factories for every server message. The OpenAI-compatible HTTP test server, which needs Node,
 * is in `llm-ws/testing/node`.
 */
export {
  createFakeServer,
  FakeWebSocket,
  type ClientMessageOf,
  type FakeServer,
  type FakeServerOptions,
  type ReceivedFrame,
} from './fake-websocket';
export * from './server-messages';
export { offlineProvider, type OfflineProviderOptions } from '../llm/offline-provider';
