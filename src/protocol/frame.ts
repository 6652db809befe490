/**
 * What both decoders share, with no io-ts: parsing a frame, checking the envelope, and wording
 * the problems. Pure: no sockets, no RxJS.
 */
import type { Either } from 'fp-ts/Either';
import { ProtocolError } from './errors';
import { MAX_MESSAGE_ID_LENGTH } from './limits';

/** What a decoder accepts: a text frame, or its UTF-8 bytes. */
export type RawFrame = string | Uint8Array;

let utf8: TextDecoder | undefined;

// fp-ts's Either as plain objects, built here: fp-ts itself stays out of a browser bundle.
/** A failed {@link Either}. */
export const left = <L>(value: L): Either<L, never> => ({ _tag: 'Left', left: value });
/** A successful {@link Either}. */
export const right = <R>(value: R): Either<never, R> => ({ _tag: 'Right', right: value });

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

/** A value as an error message quotes it: JSON, cut at 40 characters, however deep it nests. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'function' || typeof value === 'symbol' || typeof value === 'bigint') return typeof value;
  const json = jsonPrefix(value, QUOTED_CHARS);
  return json.length > QUOTED_CHARS ? `${json.slice(0, QUOTED_CHARS - 3)}...` : json;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** One sentence from problem lines (`data.text: expected string, got 42`): the first three, and a count. */
export function joinProblems(lines: readonly string[]): string {
  const all = [...new Set(lines)];
  return all.length > 3 ? `${all.slice(0, 3).join('; ')} (and ${all.length - 3} more)` : all.join('; ');
}

function parseFrame(raw: RawFrame): Either<ProtocolError, unknown> {
  let text: string;
  if (typeof raw === 'string') {
    text = raw;
  } else {
    try {
      // Created on first use, so that importing the protocol runs nothing.
      utf8 ??= new TextDecoder('utf-8', { fatal: true });
      text = utf8.decode(raw);
    } catch {
      return left(new ProtocolError('invalid_json', 'frame is not valid UTF-8'));
    }
  }
  try {
    return right(JSON.parse(text));
  } catch (error) {
    return left(new ProtocolError('invalid_json', `frame is not valid JSON: ${(error as Error).message}`));
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
export function parseEnvelope<K extends string>(
  raw: RawFrame,
  known: Readonly<Record<K, unknown>>,
): Either<ProtocolError, Envelope<K>> {
  const parsed = parseFrame(raw);
  return parsed._tag === 'Left' ? parsed : checkEnvelope(parsed.right, known);
}

/** Checks the envelope of a message already parsed (or never a frame: one the server is asked to push). */
export function checkEnvelope<K extends string>(
  value: unknown,
  known: Readonly<Record<K, unknown>>,
): Either<ProtocolError, Envelope<K>> {
  if (!isPlainObject(value)) {
    return left(
      new ProtocolError(
        'invalid_message',
        `(message): expected an object with type, id and data, got ${describeValue(value)}`,
      ),
    );
  }
  const requestId =
    typeof value.id === 'string' && value.id.length > 0 && value.id.length <= MAX_MESSAGE_ID_LENGTH
      ? value.id
      : undefined;
  const type = value.type;
  if (typeof type !== 'string') {
    return left(new ProtocolError('invalid_message', `type: expected string, got ${describeValue(type)}`, requestId));
  }
  // Own-property lookup: a `type` of "constructor" or "__proto__" must not find Object's members.
  if (!Object.prototype.hasOwnProperty.call(known, type)) {
    return left(
      new ProtocolError(
        'unknown_type',
        `unknown message type ${describeValue(type)}; expected one of ${Object.keys(known).join(', ')}`,
        requestId,
      ),
    );
  }
  return right({ value, type: type as K, requestId });
}
