/**
 * llm-ws: stream LLM conversations over WebSocket, built on RxJS.
 */

// Protocol: codecs, types, decode/encode, codes
export * from './protocol';

// Server
export * from './server';

// Client (with the ws package as its WebSocket where Node has none)
export { WSClient } from './client/node';
export { ReactiveClient, type CompleteData } from './client/reactive-client';
export * from './client/options';
export { retryWithBackoff, backoffDelay, type BackoffOptions } from './operators/retry-with-backoff';
export { replyOf, requestIdOf } from './operators/reply-of';

// Errors
export {
  LLMWSError,
  ProtocolError,
  UpstreamError,
  ToolError,
  RequestError,
  ConnectionClosedError,
  ClientError,
  ServerError,
} from './errors';
