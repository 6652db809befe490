/**
 * Runs of chunks in a replay log: consecutive `llm_chunk` (or `llm_reasoning`) frames of one reply
 * kept as one entry (the text and each chunk's length), so a long reply streamed in many small
 * frames costs its text, not a frame per chunk. Pure: what the core's replay log and a store's
 * shared log both use to keep a run and to replay it.
 *
 * A run replays as the frames it was made of (each chunk with its own `seq`), so a resume from any
 * `seq` of the run gets exactly the chunks after it, as they were first sent.
 */
import type { ServerMessageInput } from './codecs';
import { encodeServerMessage } from './encode';

/** A chunk that may join a run: reply text (not the closing empty chunk) or reasoning, of a request. */
export type RunChunk = Extract<ServerMessageInput, { type: 'llm_chunk' | 'llm_reasoning' }>;

/** Text one kept run holds at most before the next begins, in UTF-16 code units (64 Ki). */
export const MAX_RUN_CHARS = 64 * 1024;

/** Whether `message` may be kept in a run: a reply's text or reasoning chunk (one the application pushed stays a frame). */
export function isRunChunk(message: ServerMessageInput | undefined): message is RunChunk {
  if (message?.type === 'llm_reasoning') return message.data.requestId !== undefined;
  return message?.type === 'llm_chunk' && !message.data.isComplete && message.data.requestId !== undefined;
}

/** Whether `next` continues the run that `first` began (same kind, same reply). */
export const continuesRun = (first: RunChunk, next: RunChunk): boolean =>
  first.type === next.type && first.data.requestId === next.data.requestId;

/** A run as stored and replayed. */
export interface ChunkRun {
  /** The run's first chunk: every replayed frame is it with another `chunk`. */
  readonly message: RunChunk;
  /** The first chunk's id: a replayed frame's id is `<firstId>.<seq>` (ids never hold a dot, so it is unique). */
  readonly firstId: string;
  readonly firstSeq: number;
  /** Each chunk's length in UTF-16 code units, in order: chunk `i` has seq `firstSeq + i`. */
  readonly lengths: readonly number[];
  /** The chunks' text, concatenated. */
  readonly text: string;
}

/** The seq of a run's last chunk. */
export const lastSeqOf = (run: ChunkRun): number => run.firstSeq + run.lengths.length - 1;

/**
 * The frames of `run` a client that read up to `afterSeq` misses: each chunk after that one as the
 * frame it was sent as (same type, text and `seq`; an id of its own), so a replay is the stream
 * as it went out, `seq` by `seq`.
 */
export function runFrames(run: ChunkRun, afterSeq: number): Array<{ readonly seq: number; readonly text: string }> {
  const frames: Array<{ seq: number; text: string }> = [];
  const first = Math.max(0, afterSeq + 1 - run.firstSeq);
  let offset = 0;
  for (let i = 0; i < first && i < run.lengths.length; i++) offset += run.lengths[i] as number;
  for (let index = first; index < run.lengths.length; index++) {
    const from = offset;
    offset += run.lengths[index] as number;
    const seq = run.firstSeq + index;
    const message = { type: run.message.type, data: { ...run.message.data, chunk: run.text.slice(from, offset) } };
    frames.push({ seq, text: encodeServerMessage(message as RunChunk, `${run.firstId}.${seq}`, seq) });
  }
  return frames;
}

/** A run as one string, for a shared log (see {@link decodeRun}). */
export function encodeRun(run: ChunkRun): string {
  return JSON.stringify({ m: run.message, i: run.firstId, s: run.firstSeq, n: run.lengths, x: run.text });
}

/** A run {@link encodeRun} wrote; undefined for anything else (a log holds only what llm-ws wrote). */
export function decodeRun(text: string): ChunkRun | undefined {
  try {
    const { m, i, s, n, x } = JSON.parse(text) as Record<string, unknown>;
    if (!isRunChunk(m as RunChunk) || typeof i !== 'string' || !Number.isSafeInteger(s) || typeof x !== 'string')
      return undefined;
    if (!Array.isArray(n) || n.length === 0 || !n.every((length) => Number.isSafeInteger(length) && length >= 0))
      return undefined;
    return { message: m as RunChunk, firstId: i, firstSeq: s as number, lengths: n as number[], text: x };
  } catch {
    return undefined;
  }
}
