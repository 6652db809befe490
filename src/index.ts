/**
 * llm-ws: stream LLM conversations over WebSocket, built on RxJS.
 */

// Protocol: codecs, types, decode/encode, codes
export * from './protocol';

// Server
export * from './server';

// Errors
export { LLMWSError, ProtocolError, UpstreamError, ToolError, RequestError } from './errors';
