/** Messages a session keeps for replay unless configured. */
export const DEFAULT_REPLAY_MAX_MESSAGES = 5000;
/** Room of the replay log past two copies of the largest reply: frame envelopes and the messages around it (2 MiB). */
export const REPLAY_HEADROOM_BYTES = 2 * 1024 * 1024;

/**
 * The replay bound that lets any reply a server accepts be resumed after a drop at any point:
 * its chunks and its `llm_complete` (which repeats the whole text) are each up to
 * `maxReplyTextBytes`, plus {@link REPLAY_HEADROOM_BYTES}.
 */
export function replayMaxBytesFor(maxReplyTextBytes: number): number {
  return 2 * maxReplyTextBytes + REPLAY_HEADROOM_BYTES;
}

/**
 * UTF-8 bytes a session keeps for replay unless configured (10 MiB): {@link replayMaxBytesFor}
 * the default `maxReplyTextBytes` (4 MiB). A server with another `maxReplyTextBytes` and no
 * `replayMaxBytes` keeps `replayMaxBytesFor` its own.
 */
export const DEFAULT_REPLAY_MAX_BYTES = replayMaxBytesFor(4 * 1024 * 1024);

import type { ReplayLimits, ReplayResult } from './ports';

export type { ReplayLimits, ReplayResult };

/**
 * The encoded frames of one session's stream, by `seq`, bounded in count and bytes, so a
 * client that reconnects can be sent what it missed. Frames the client acknowledged are dropped.
 */
export class ReplayLog {
  // Frames and their UTF-8 sizes side by side (no object per frame: this runs for every frame sent).
  // Seqs are consecutive, so the frame at index `start` is message `droppedThrough + 1`.
  private texts: string[] = [];
  private sizes: number[] = [];
  /** Index of the oldest live frame in `texts` (dropping from the front without shifting). */
  private start = 0;
  private bytes = 0;
  /** The seq of the newest frame ever appended, 0 before the first. */
  private newest = 0;
  /** Everything at or below this seq has been dropped or acknowledged. */
  private droppedThrough = 0;

  /** `startSeq`: the stream's seq so far, for a session loaded from a store (its frames are held there). */
  constructor(
    private readonly limits: ReplayLimits,
    startSeq = 0,
  ) {
    this.newest = startSeq;
    this.droppedThrough = startSeq;
  }

  /** The seq of the newest frame appended so far (0 before any). */
  get lastSeq(): number {
    return this.newest;
  }

  /** Frames held now. */
  get size(): number {
    return this.texts.length - this.start;
  }

  /** Bytes held now. */
  get heldBytes(): number {
    return this.bytes;
  }

  /** Appends the frame of message `seq`, which must be `lastSeq + 1`. */
  append(seq: number, text: string): void {
    if (seq !== this.newest + 1) throw new RangeError(`replay log expected seq ${this.newest + 1}, got ${seq}`);
    const bytes = Buffer.byteLength(text); // native: this runs for every frame the server sends
    this.texts.push(text);
    this.sizes.push(bytes);
    this.bytes += bytes;
    this.newest = seq;
    while (this.size > this.limits.maxMessages || (this.bytes > this.limits.maxBytes && this.size > 0))
      this.dropOldest();
    this.compact();
  }

  /** The client has everything up to `seq`: those frames need not be kept. */
  acknowledge(seq: number): void {
    while (this.size > 0 && this.droppedThrough < seq) this.dropOldest();
    this.droppedThrough = Math.max(this.droppedThrough, Math.min(seq, this.newest));
    this.compact();
  }

  /** The frames after `lastSeq`, in order; a gap if some of them were dropped. */
  since(lastSeq: number): ReplayResult {
    if (lastSeq >= this.newest) return { frames: [] };
    if (lastSeq < this.droppedThrough) return { gap: { oldestHeld: this.droppedThrough + 1 } };
    const first = this.start + (lastSeq + 1 - (this.droppedThrough + 1));
    return { frames: this.texts.slice(first) };
  }

  /** Drops everything (the session ends). */
  clear(): void {
    this.droppedThrough = this.newest;
    this.texts = [];
    this.sizes = [];
    this.start = 0;
    this.bytes = 0;
  }

  private dropOldest(): void {
    this.bytes -= this.sizes[this.start] as number;
    // Let the text go now, not at the next compaction.
    (this.texts as Array<string | undefined>)[this.start++] = undefined;
    this.droppedThrough++;
  }

  private compact(): void {
    // Reclaim the dropped front once it is most of the array, so appends stay O(1) amortised.
    if (this.start > 64 && this.start * 2 > this.texts.length) {
      this.texts = this.texts.slice(this.start);
      this.sizes = this.sizes.slice(this.start);
      this.start = 0;
    }
  }
}
