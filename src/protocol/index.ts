/**
 * `llm-ws/protocol`: the wire format as io-ts codecs, with pure decode and encode.
 * Imports io-ts and fp-ts only, so it runs anywhere.
 */
export * from './codecs';
export * from './codes';
export * from './decode';
export { LLMWSError, ProtocolError } from '../errors';
