import { type ChunkRun, MAX_RUN_CHARS, type RunChunk, runFrames } from '../protocol/replay-runs';

/** Chunks one segment of a replay log holds at most (a run longer than that goes on in the next). */
export const SEGMENT_MAX_CHUNKS = 1024;

/** Bytes a chunk's length takes in a sealed segment (a varint: 7 bits a byte). */
const lengthBytes = (length: number): number => (length < 0x80 ? 1 : length < 0x4000 ? 2 : 3);

/**
 * Up to {@link SEGMENT_MAX_CHUNKS} consecutive chunks of one reply's text (or reasoning), kept in a
 * replay log as one entry: while open, the chunks as they came; once sealed, their text joined
 * and their lengths as varints, so a long reply of small chunks costs about its text (a byte per
 * chunk more), not a frame's envelope per chunk.
 */
export class ChunkSegment {
  private pieces: string[] | undefined;
  private text = '';
  private lengths: Uint8Array | undefined;
  private chars: number;
  private count = 1;

  constructor(
    /** The first chunk: every replayed frame is it with another text. */
    readonly message: RunChunk,
    private readonly firstId: string,
    readonly firstSeq: number,
  ) {
    this.pieces = [message.data.chunk];
    this.chars = message.data.chunk.length;
  }

  /** Bytes counted for the first chunk, given its encoded frame (the envelope is counted once). */
  static firstBytes(frame: string, chunk: string): number {
    return Buffer.byteLength(frame) + lengthBytes(chunk.length);
  }

  /** Chunks held. */
  get size(): number {
    return this.count;
  }

  /** Whether it takes no more chunks (a chunk count or text length reached). */
  get full(): boolean {
    return this.count >= SEGMENT_MAX_CHUNKS || this.chars >= MAX_RUN_CHARS;
  }

  /** Adds the next chunk (its seq follows the last); returns the bytes it counts for. */
  add(chunk: string): number {
    (this.pieces as string[]).push(chunk);
    this.count++;
    this.chars += chunk.length;
    return Buffer.byteLength(chunk) + lengthBytes(chunk.length);
  }

  /** Joins the chunks (it takes no more): one string, not one per chunk, while it is kept. */
  seal(): void {
    const pieces = this.pieces;
    if (!pieces) return;
    this.pieces = undefined;
    this.text = pieces.join('');
    let bytes = 0;
    for (const piece of pieces) bytes += lengthBytes(piece.length);
    const lengths = new Uint8Array(bytes);
    let at = 0;
    for (const { length } of pieces) {
      let rest = length;
      while (rest >= 0x80) {
        lengths[at++] = (rest & 0x7f) | 0x80;
        rest >>>= 7;
      }
      lengths[at++] = rest;
    }
    this.lengths = lengths;
  }

  /** The segment as a run (for replay, or for a store). */
  run(): ChunkRun {
    if (this.pieces) {
      return {
        message: this.message,
        firstId: this.firstId,
        firstSeq: this.firstSeq,
        lengths: this.pieces.map((piece) => piece.length),
        text: this.pieces.join(''),
      };
    }
    const lengths: number[] = [];
    const bytes = this.lengths as Uint8Array;
    for (let at = 0, value = 0, shift = 0; at < bytes.length; at++) {
      const byte = bytes[at] as number;
      value |= (byte & 0x7f) << shift;
      shift += 7;
      if (byte < 0x80) {
        lengths.push(value);
        value = 0;
        shift = 0;
      }
    }
    return { message: this.message, firstId: this.firstId, firstSeq: this.firstSeq, lengths, text: this.text };
  }

  /** The frames a client that read up to `afterSeq` misses of this segment. */
  frames(afterSeq: number): string[] {
    return runFrames(this.run(), afterSeq).map((frame) => frame.text);
  }
}
