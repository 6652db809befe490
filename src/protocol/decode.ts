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
  type PushMessage,
  pushableMessageCodecs,
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
};

function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  const json = JSON.stringify(value);
  if (json === undefined) return typeof value;
  return json.length > 40 ? `${json.slice(0, 37)}...` : json;
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
  return decodeTaggedValue<M>(parsed.right, codecs);
}

function decodeTaggedValue<M>(value: unknown, codecs: Record<string, t.Decoder<unknown, unknown>>): E.Either<ProtocolError, M> {
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

const hasOwn = (object: object, key: string): boolean => Object.prototype.hasOwnProperty.call(object, key);

/**
 * Checks a message an application wants to push to clients (`WSServer.sendToClient`,
 * `broadcast`) with the codecs clients decode it with. Never throws: a message a client would
 * reject, or one that may not be pushed (see {@link pushableMessageCodecs}), is a `Left` whose
 * {@link ProtocolError} says why (`invalid_message` or `unknown_type`). The `Right` is the
 * message as it will be sent: `type` and `data`, without fields the protocol does not have.
 */
export function decodePushMessage(message: unknown): E.Either<ProtocolError, PushMessage> {
  if (!isPlainObject(message)) {
    return E.left(new ProtocolError('invalid_message', `(message): expected an object with type and data, got ${describeValue(message)}`));
  }
  const { type } = message;
  if (typeof type === 'string' && hasOwn(serverMessageCodecs, type) && !hasOwn(pushableMessageCodecs, type)) {
    const pushable = Object.keys(pushableMessageCodecs).join(', ');
    return E.left(new ProtocolError('invalid_message', `${type} messages cannot be pushed: the server sends them itself; push one of ${pushable}`));
  }
  // The server gives the id; a placeholder lets the message codec check the rest.
  const decoded = decodeTaggedValue<ServerMessage>({ ...message, id: 'push' }, pushableMessageCodecs);
  if (E.isLeft(decoded)) return decoded;
  const { data } = decoded.right;
  try {
    JSON.stringify(data);
  } catch (error) {
    return E.left(new ProtocolError('invalid_message', `data is not JSON: ${(error as Error).message}`));
  }
  return E.right({ type: decoded.right.type, data } as PushMessage);
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
