/**
 * Pure decode and encode of protocol frames: no sockets, no RxJS.
 */
import * as E from 'fp-ts/Either';
import * as t from 'io-ts';
import { ProtocolError } from '../errors';
import {
  type ClientMessage,
  clientMessageCodecs,
  MAX_MESSAGE_ID_LENGTH,
  type ServerMessage,
  type ServerMessageInput,
  serverMessageCodecs,
} from './codecs';

/** What a decoder accepts: a text frame, or its UTF-8 bytes. */
export type RawFrame = string | Uint8Array;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Words for branded codecs, so an error says what was wanted rather than a type name. */
const describeType: Record<string, string> = {
  MessageId: `a non-empty string of at most ${MAX_MESSAGE_ID_LENGTH} characters`,
  Temperature: 'a number from 0 to 2',
  PositiveInt: 'a whole number greater than 0',
  SeqNumber: 'a whole number of 0 or more',
};

/** Characters of a value an error quotes. */
const QUOTED_CHARS = 40;

/**
 * The JSON of a decoded frame's value, cut once it passes `limit` characters. A frame may nest
 * to any depth (JSON.parse takes it); each level writes a character before descending, so this
 * recurses at most `limit` deep where JSON.stringify would overflow the stack.
 */
function jsonPrefix(value: unknown, limit: number): string {
  let out = '';
  const write = (item: unknown): void => {
    if (out.length > limit) return;
    if (Array.isArray(item)) {
      out += '[';
      for (let i = 0; i < item.length && out.length <= limit; i++) {
        if (i > 0) out += ',';
        write(item[i] === undefined ? null : item[i]);
      }
      out += ']';
    } else if (typeof item === 'object' && item !== null) {
      out += '{';
      let first = true;
      for (const [key, member] of Object.entries(item)) {
        if (out.length > limit) break;
        if (member === undefined) continue;
        out += `${first ? '' : ','}${JSON.stringify(key)}:`;
        first = false;
        write(member);
      }
      out += '}';
    } else {
      // A decoded frame holds only JSON values here: strings, numbers, booleans and null.
      const text = JSON.stringify(item) ?? 'null';
      out += text.length > limit ? text.slice(0, limit + 1) : text;
    }
  };
  write(value);
  return out;
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'function' || typeof value === 'symbol' || typeof value === 'bigint') return typeof value;
  const json = jsonPrefix(value, QUOTED_CHARS);
  return json.length > QUOTED_CHARS ? `${json.slice(0, QUOTED_CHARS - 3)}...` : json;
}

/**
 * The path of a failed value, as a user would write it (`data.options.temperature`): the keys
 * io-ts adds for the members of unions and intersections are not part of it.
 */
function pathOf(context: t.Context): string {
  const keys: string[] = [];
  for (let i = 1; i < context.length; i++) {
    const parent = context[i - 1]?.type;
    if (parent instanceof t.IntersectionType || parent instanceof t.UnionType) continue;
    const key = context[i]?.key;
    if (key) keys.push(/^\d+$/.test(key) ? `[${key}]` : keys.length ? `.${key}` : key);
  }
  return keys.join('') || '(message)';
}

/** Turns io-ts errors into one sentence: `data.text: expected string, got 42`. */
export function formatValidationErrors(errors: t.Errors): string {
  const lines = new Set<string>();
  for (const error of errors) {
    const last = error.context[error.context.length - 1];
    const expected = last ? (describeType[last.type.name] ?? last.type.name) : 'a value';
    lines.add(`${pathOf(error.context)}: expected ${expected}, got ${describeValue(error.value)}`);
  }
  const all = [...lines];
  return all.length > 3 ? `${all.slice(0, 3).join('; ')} (and ${all.length - 3} more)` : all.join('; ');
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseFrame(raw: RawFrame): E.Either<ProtocolError, unknown> {
  let text: string;
  if (typeof raw === 'string') {
    text = raw;
  } else {
    try {
      text = utf8.decode(raw);
    } catch {
      return E.left(new ProtocolError('invalid_json', 'frame is not valid UTF-8'));
    }
  }
  try {
    return E.right(JSON.parse(text));
  } catch (error) {
    return E.left(new ProtocolError('invalid_json', `frame is not valid JSON: ${(error as Error).message}`));
  }
}

function decodeTagged<M>(
  raw: RawFrame,
  codecs: Record<string, t.Decoder<unknown, unknown>>,
): E.Either<ProtocolError, M> {
  const parsed = parseFrame(raw);
  if (E.isLeft(parsed)) return parsed;
  const value = parsed.right;
  if (!isPlainObject(value)) {
    return E.left(
      new ProtocolError('invalid_message', `(message): expected an object with type, id and data, got ${describeValue(value)}`),
    );
  }
  // The id is echoed back on the error when it is usable, so the sender can match the failure.
  const requestId =
    typeof value.id === 'string' && value.id.length > 0 && value.id.length <= MAX_MESSAGE_ID_LENGTH ? value.id : undefined;
  const type = value.type;
  if (typeof type !== 'string') {
    return E.left(new ProtocolError('invalid_message', `type: expected string, got ${describeValue(type)}`, requestId));
  }
  // Own-property lookup: a `type` of "constructor" or "__proto__" must not find Object's members.
  const codec = Object.prototype.hasOwnProperty.call(codecs, type) ? codecs[type] : undefined;
  if (!codec) {
    return E.left(
      new ProtocolError('unknown_type', `unknown message type ${describeValue(type)}; expected one of ${Object.keys(codecs).join(', ')}`, requestId),
    );
  }
  const decoded = codec.decode(value);
  if (E.isLeft(decoded)) {
    return E.left(new ProtocolError('invalid_message', formatValidationErrors(decoded.left), requestId));
  }
  return E.right(decoded.right as M);
}

/**
 * Decodes one frame from a client. Never throws: a bad frame is a `Left` whose
 * {@link ProtocolError} names the code (`invalid_json`, `invalid_message`, `unknown_type`), the
 * field and what was wrong, and carries the frame's id when it had one.
 */
export function decodeClientMessage(raw: RawFrame): E.Either<ProtocolError, ClientMessage> {
  return decodeTagged<ClientMessage>(raw, clientMessageCodecs);
}

/** Decodes one frame from the server, as {@link decodeClientMessage} does for clients. */
export function decodeServerMessage(raw: RawFrame): E.Either<ProtocolError, ServerMessage> {
  return decodeTagged<ServerMessage>(raw, serverMessageCodecs);
}

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
  return JSON.stringify(seq === undefined ? { type: message.type, id, data: message.data } : { type: message.type, id, seq, data: message.data });
}
