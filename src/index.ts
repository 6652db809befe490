/**
 * llm-ws: stream LLM conversations over WebSocket, built on RxJS.
 */

// Protocol: codecs, types, decode/encode, codes
export * from './protocol';

// Server
export * from './server';

// Client: everything of `llm-ws/client`, with the Node WSClient (on the ws package) in place of
// the browser one (an explicit export takes precedence over the same name from `export *`).
export * from './client';
export { WSClient } from './client/node';

// Errors
export * from './errors';
