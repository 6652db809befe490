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
 * Encodes a server message given its id and, for messages of a session's stream, its `seq`, in
 * the documented key order. This runs for every frame: a reply's text chunk (most frames) is
 * written into a pre-built envelope with only its changing fields stringified, a third of the
 * time of one `JSON.stringify` of a fresh envelope object; anything else is that.
 */
export function encodeServerMessage(message: ServerMessageInput, id: string, seq?: number): string {
  if (message.type === 'llm_chunk') {
    const chunk = encodeReplyChunk(message.data, id, seq);
    if (chunk !== undefined) return chunk;
  }
  return JSON.stringify(
    seq === undefined
      ? { type: message.type, id, data: message.data }
      : { type: message.type, id, seq, data: message.data },
  );
}

/**
 * `JSON.stringify(text)` for a string: the text between quotes when nothing in it needs escaping
 * (no `"`, `\`, control character or surrogate), else `JSON.stringify`'s own answer. Three
 * strings of every chunk frame go through here, most of them plain; JavaScriptCore's (Bun's)
 * `JSON.stringify` of a short string costs more than this scan (bench/NOTES.md).
 */
export function quoteJsonString(text: string): string {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    // Surrogates, paired or not, are left to JSON.stringify (it escapes a lone one).
    if (code < 0x20 || code === 0x22 || code === 0x5c || (code >= 0xd800 && code <= 0xdfff)) {
      return JSON.stringify(text);
    }
  }
  return '"' + text + '"';
}

type ChunkData = Extract<ServerMessageInput, { type: 'llm_chunk' }>['data'];

/** A reply's chunk (`chunk`, `isComplete`, `requestId` and nothing else), or undefined for any other shape. */
function encodeReplyChunk(data: ChunkData, id: string, seq: number | undefined): string | undefined {
  const { chunk, isComplete, requestId } = data;
  if (typeof requestId !== 'string' || typeof isComplete !== 'boolean') return undefined;
  // No `Object.keys` array per frame: any other key sends the message the generic way.
  for (const key in data) if (key !== 'chunk' && key !== 'isComplete' && key !== 'requestId') return undefined;
  return (
    '{"type":"llm_chunk","id":' +
    quoteJsonString(id) +
    (seq === undefined ? '' : ',"seq":' + String(seq)) +
    ',"data":{"chunk":' +
    quoteJsonString(chunk) +
    (isComplete ? ',"isComplete":true,"requestId":' : ',"isComplete":false,"requestId":') +
    quoteJsonString(requestId) +
    '}}'
  );
}
