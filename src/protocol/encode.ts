/**
 * Pure encoding of protocol frames: no sockets, no RxJS, no io-ts (the client encodes with it).
 */
import type { ClientMessage, ServerMessage, ServerMessageInput } from './codecs';

/**
 * Encodes a message as a text frame. Every protocol field is plain JSON, so this is
 * `JSON.stringify`; it exists so the encoding lives in one place.
 */
export function encodeMessage(message: ServerMessage | ClientMessage): string {
  return JSON.stringify(message);
}

/**
 * Encodes a server message given its id and, for messages of a session's stream, its `seq`:
 * one object, one `JSON.stringify`, in the documented key order. This runs for every frame.
 */
export function encodeServerMessage(message: ServerMessageInput, id: string, seq?: number): string {
  return JSON.stringify(
    seq === undefined
      ? { type: message.type, id, data: message.data }
      : { type: message.type, id, seq, data: message.data },
  );
}
