import type { ServerMessageOf, Usage } from '../protocol/codecs';
import { makeChunk, makeComplete, makeServerMessage } from './server-messages';

/** A message of a reply as {@link replyMarbles} makes them. */
export type ReplyMarbleValue = ServerMessageOf<'llm_chunk'> | ServerMessageOf<'llm_complete'>;

/** The marble key of the reply's last, empty `isComplete` chunk. */
const REPLY_END_CHUNK_KEY = '\u03A9';
/** The marble key of the reply's `llm_complete`. */
const REPLY_COMPLETE_KEY = '\u03C9';

/** Characters of a marble string that are timing or grouping, never a value. */
const SYNTAX = new Set(['-', ' ', '(', ')', '^', '#', '|']);

/**
 * A streamed reply to `requestId` as marbles, ready for `cold(...)`: each value letter is an
 * `llm_chunk` whose text is the letter (or `texts[letter]`), and `|` is the reply's end as the
 * server sends it: the empty `isComplete` chunk and the `llm_complete` with the joined text, in
 * the frame of the `|`, then completion. Time (`-`, `10ms `) and groups pass through as written.
 *
 * ```ts
 * server.answer('user_message', ({ id }) => cold(...replyMarbles(id, '-a-b|', { a: 'Hel', b: 'lo' })));
 * // send() then emits chunks 'Hel' at 1 and 'lo' at 3, and at 4 the end chunk and llm_complete 'Hello', and completes.
 * ```
 *
 * Without a `|` the reply never ends (a stream the test cuts short); a `#` is not allowed here:
 * a reply fails with an `error` message (`makeError`), not an Observable error.
 */
export function replyMarbles(
  requestId: string,
  marbles: string,
  texts: Readonly<Record<string, string>> = {},
  extra: { finishReason?: ServerMessageOf<'llm_complete'>['data']['finishReason']; usage?: Usage } = {},
): [marbles: string, values: Record<string, ReplyMarbleValue>] {
  if (marbles.includes('#')) {
    throw new TypeError(
      "replyMarbles: a reply ends with '|'; for a failed reply deliver makeError(...) instead of '#'",
    );
  }
  const values: Record<string, ReplyMarbleValue> = {};
  let fullText = '';
  let out = '';
  let ended = false;
  let inGroup = false;
  for (let i = 0; i < marbles.length; i++) {
    const char = marbles[i] as string;
    // Time progression ("10ms ") starts a marble string or follows a space; bounded look-ahead.
    const time = i === 0 || marbles[i - 1] === ' ' ? /^\d+(\.\d+)?(ms|s|m) /.exec(marbles.slice(i, i + 24)) : null;
    if (time) {
      out += time[0];
      i += time[0].length - 1;
      continue;
    }
    if (char === '|') {
      ended = true;
      const end = `${REPLY_END_CHUNK_KEY}${REPLY_COMPLETE_KEY}|`;
      // In the frame of the '|': a group of its own, or part of the group it is written in.
      out += inGroup ? end : `(${end})`;
      continue;
    }
    if (SYNTAX.has(char)) {
      if (char === '(') inGroup = true;
      if (char === ')') inGroup = false;
      out += char;
      continue;
    }
    if (char === REPLY_END_CHUNK_KEY || char === REPLY_COMPLETE_KEY) {
      throw new TypeError(`replyMarbles: ${char} is kept for the reply's end; use another letter`);
    }
    const text = texts[char] ?? char;
    values[char] ??= makeChunk(requestId, text);
    fullText += text;
    out += char;
  }
  if (ended) {
    values[REPLY_END_CHUNK_KEY] = makeServerMessage('llm_chunk', { chunk: '', isComplete: true, requestId });
    values[REPLY_COMPLETE_KEY] = makeComplete(requestId, fullText, extra);
  }
  return [out, values];
}
