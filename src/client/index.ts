/**
 * `llm-ws/client`: the RxJS client. Browser-safe: no `ws`, no `openai`, no `node:` modules.
 * It uses `globalThis.WebSocket` unless given `WebSocketCtor`.
 */
export { WSClient, type CompleteData } from './ws-client';
export * from './options';
export { retryWithBackoff, backoffDelay, type BackoffOptions } from '../operators/retry-with-backoff';
export { replyOf, requestIdOf } from '../operators/reply-of';
export { LLMWSError, ProtocolError, ConnectionClosedError, ClientError, ServerError } from '../errors';
export * from '../protocol';
