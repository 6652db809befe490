/** Messages a session keeps for replay unless configured. */
export const DEFAULT_REPLAY_MAX_MESSAGES = 5000;
/** UTF-8 bytes a session keeps for replay unless configured (2 MiB). */
export const DEFAULT_REPLAY_MAX_BYTES = 2 * 1024 * 1024;

/** Bounds of a replay log: the oldest messages go first once either is passed. */
export interface ReplayLimits {
  readonly maxMessages: number;
  readonly maxBytes: number;
}

/** What a resume from `lastSeq` can get: the frames after it, or nothing because some are gone. */
export type ReplayResult = { readonly frames: readonly string[] } | { readonly gap: { readonly oldestHeld: number } };

interface Entry {
  readonly seq: number;
  readonly text: string;
  readonly bytes: number;
}

/**
 * The encoded frames of one session's stream, by `seq`, bounded in count and bytes, so a
 * client that reconnects can be sent what it missed. Frames the client acknowledged are dropped.
 */
export class ReplayLog {
  private entries: Entry[] = [];
  /** Index of the oldest live entry in `entries` (dropping from the front without shifting). */
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
    return this.entries.length - this.start;
  }

  /** Bytes held now. */
  get heldBytes(): number {
    return this.bytes;
  }

  /** Appends the frame of message `seq`, which must be `lastSeq + 1`. */
  append(seq: number, text: string): void {
    if (seq !== this.newest + 1) throw new RangeError(`replay log expected seq ${this.newest + 1}, got ${seq}`);
    const bytes = Buffer.byteLength(text); // native: this runs for every frame the server sends
    this.entries.push({ seq, text, bytes });
    this.bytes += bytes;
    this.newest = seq;
    while (this.size > this.limits.maxMessages || (this.bytes > this.limits.maxBytes && this.size > 0))
      this.dropOldest();
    this.compact();
  }

  /** The client has everything up to `seq`: those frames need not be kept. */
  acknowledge(seq: number): void {
    while (this.size > 0 && (this.entries[this.start] as Entry).seq <= seq) this.dropOldest();
    this.droppedThrough = Math.max(this.droppedThrough, Math.min(seq, this.newest));
    this.compact();
  }

  /** The frames after `lastSeq`, in order; a gap if some of them were dropped. */
  since(lastSeq: number): ReplayResult {
    if (lastSeq >= this.newest) return { frames: [] };
    if (lastSeq < this.droppedThrough) return { gap: { oldestHeld: this.droppedThrough + 1 } };
    const first = this.start + (lastSeq + 1 - (this.droppedThrough + 1));
    return { frames: this.entries.slice(first).map((entry) => entry.text) };
  }

  /** Drops everything (the session ends). */
  clear(): void {
    this.droppedThrough = this.newest;
    this.entries = [];
    this.start = 0;
    this.bytes = 0;
  }

  private dropOldest(): void {
    const entry = this.entries[this.start++] as Entry;
    this.bytes -= entry.bytes;
    this.droppedThrough = entry.seq;
  }

  private compact(): void {
    // Reclaim the dropped front once it is most of the array, so appends stay O(1) amortised.
    if (this.start > 64 && this.start * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.start);
      this.start = 0;
    }
  }
}
