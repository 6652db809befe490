/**
 * What both decoders share, with no io-ts: parsing a frame, checking the envelope, and wording
 * the problems. Pure: no sockets, no RxJS.
 */
import * as E from 'fp-ts/Either';
import { ProtocolError } from '../errors';
import type { ClientMessage, ServerMessage } from './codecs';
import { MAX_MESSAGE_ID_LENGTH } from './limits';

/** What a decoder accepts: a text frame, or its UTF-8 bytes. */
export type RawFrame = string | Uint8Array;


let utf8: TextDecoder | undefined;

/** A value as an error message quotes it: JSON, cut at 40 characters. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  const json = JSON.stringify(value);
  if (json === undefined) return typeof value;
  return json.length > 40 ? `${json.slice(0, 37)}...` : json;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** One sentence from problem lines (`data.text: expected string, got 42`): the first three, and a count. */
export function joinProblems(lines: readonly string[]): string {
  const all = [...new Set(lines)];
  return all.length > 3 ? `${all.slice(0, 3).join('; ')} (and ${all.length - 3} more)` : all.join('; ');
}

function parseFrame(raw: RawFrame): E.Either<ProtocolError, unknown> {
  let text: string;
  if (typeof raw === 'string') {
    text = raw;
  } else {
    try {
      // Created on first use, so that importing the protocol runs nothing.
      utf8 ??= new TextDecoder('utf-8', { fatal: true });
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

/** A parsed frame whose envelope names a known message type. */
export interface Envelope<K extends string> {
  readonly value: Record<string, unknown>;
  readonly type: K;
  /** The frame's id when usable, so an error can echo it and the sender match the failure. */
  readonly requestId: string | undefined;
}

/**
 * Parses a frame and checks its envelope: an object whose `type` is one of `known`'s own keys.
 * The fields are checked by the caller's codec or shape.
 */
export function parseEnvelope<K extends string>(raw: RawFrame, known: Readonly<Record<K, unknown>>): E.Either<ProtocolError, Envelope<K>> {
  const parsed = parseFrame(raw);
  return E.isLeft(parsed) ? parsed : checkEnvelope(parsed.right, known);
}

/** Checks the envelope of a message already parsed (or never a frame: one the server is asked to push). */
export function checkEnvelope<K extends string>(value: unknown, known: Readonly<Record<K, unknown>>): E.Either<ProtocolError, Envelope<K>> {
  if (!isPlainObject(value)) {
    return E.left(
      new ProtocolError('invalid_message', `(message): expected an object with type, id and data, got ${describeValue(value)}`),
    );
  }
  const requestId =
    typeof value.id === 'string' && value.id.length > 0 && value.id.length <= MAX_MESSAGE_ID_LENGTH ? value.id : undefined;
  const type = value.type;
  if (typeof type !== 'string') {
    return E.left(new ProtocolError('invalid_message', `type: expected string, got ${describeValue(type)}`, requestId));
  }
  // Own-property lookup: a `type` of "constructor" or "__proto__" must not find Object's members.
  if (!Object.prototype.hasOwnProperty.call(known, type)) {
    return E.left(
      new ProtocolError('unknown_type', `unknown message type ${describeValue(type)}; expected one of ${Object.keys(known).join(', ')}`, requestId),
    );
  }
  return E.right({ value, type: type as K, requestId });
}

/**
 * Encodes a message as a text frame. Every protocol field is plain JSON, so this is
 * `JSON.stringify`; it exists so the encoding lives in one place.
 */
export function encodeMessage(message: ServerMessage | ClientMessage): string {
  return JSON.stringify(message);
}
