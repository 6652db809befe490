/**
 * `llm-ws/client`: the RxJS client. Browser-safe: no `ws`, no `openai`, no `node:` modules.
 * It uses `globalThis.WebSocket` unless given `WebSocketCtor`.
 */
export { WSClient } from './ws-client';
export { ReactiveClient, type CompleteData, type ControlAnswer } from './reactive-client';
export * from './options';
export { retryWithBackoff, backoffDelay, type BackoffOptions } from '../operators/retry-with-backoff';
export { replyOf, requestIdOf } from '../operators/reply-of';
export { LLMWSError, ProtocolError, ConnectionClosedError, ClientError, ServerError, type ClientErrorCode, type ConnectionErrorCode } from '../errors';
export * from '../protocol';
