import type { ServerMessageInput } from '../protocol/codecs';
import { type ChunkRun, continuesRun, isRunChunk } from '../protocol/replay-runs';
import { ChunkSegment } from './chunk-segment';
import type { ReplayLimits, ReplayResult } from './ports';

/** Messages a session keeps for replay unless configured. */
export const DEFAULT_REPLAY_MAX_MESSAGES = 5000;
/** Room of the replay log past two copies of the largest reply: frame envelopes and the messages around it (2 MiB). */
export const REPLAY_HEADROOM_BYTES = 2 * 1024 * 1024;

/**
 * The replay bound that lets any reply a server accepts be resumed after a drop at any point:
 * its chunks and its `llm_complete` (which repeats the whole text) are each up to
 * `maxReplyTextBytes`, plus {@link REPLAY_HEADROOM_BYTES} (chunks are kept at their text plus a
 * byte each, see {@link ReplayLog}: the headroom holds a full-size reply's chunks of 2 bytes or
 * more on average).
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

export type { ReplayLimits, ReplayResult };

/** Chunks a sealed segment holds at least for a store to be told it may keep it as one entry (fewer are not worth rewriting). */
export const COALESCE_MIN_CHUNKS = 64;

/**
 * The frames of one session's stream, by `seq`, bounded in entries and bytes, so a client that
 * reconnects can be sent what it missed. Frames the client acknowledged are dropped.
 *
 * Consecutive text (or reasoning) chunks of one reply are kept as segments of up to 1,024 chunks
 * ({@link ChunkSegment}), each one entry at about the chunks' text: a reply up to
 * `maxReplyTextBytes` fits however many chunks it came in, and a resume replays its chunks as they
 * were sent, each with its own seq.
 */
export class ReplayLog {
  // Entries, their counted sizes and the seq of each one's last message side by side (no object
  // per frame: this runs for every frame sent). An entry is an encoded frame or a segment.
  private entries: Array<string | ChunkSegment | undefined> = [];
  private sizes: number[] = [];
  private ends: number[] = [];
  /** Index of the oldest live entry (dropping from the front without shifting). */
  private start = 0;
  private bytes = 0;
  /** The seq of the newest frame ever appended, 0 before the first. */
  private newest = 0;
  /** Everything at or below this seq has been dropped or acknowledged. */
  private droppedThrough = 0;
  /** The newest entry, while it is a segment that takes more chunks. */
  private open: ChunkSegment | undefined;

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

  /** Entries held now (frames, and segments of chunks). */
  get size(): number {
    return this.entries.length - this.start;
  }

  /** Bytes held now. */
  get heldBytes(): number {
    return this.bytes;
  }

  /**
   * Appends the frame of message `seq`, which must be `lastSeq + 1`. With the `message` it encodes
   * (and its `id`), a reply's chunk joins the segment of the chunks before it. Returns a run of at
   * least {@link COALESCE_MIN_CHUNKS} chunks this append sealed (the one it ended, or the one it
   * filled), which a store may keep as one entry instead of its frames.
   */
  append(seq: number, text: string, message?: ServerMessageInput, id = ''): ChunkRun | undefined {
    if (seq !== this.newest + 1) throw new RangeError(`replay log expected seq ${this.newest + 1}, got ${seq}`);
    this.newest = seq;
    const open = this.open;
    const chunk = isRunChunk(message) ? message : undefined;
    let sealed: ChunkSegment | undefined;
    if (open && chunk && continuesRun(open.message, chunk)) {
      const bytes = open.add(chunk.data.chunk);
      const last = this.entries.length - 1;
      this.sizes[last] = (this.sizes[last] as number) + bytes;
      this.ends[last] = seq;
      this.bytes += bytes;
      if (open.full) sealed = this.seal();
    } else {
      if (open) sealed = this.seal();
      if (chunk) {
        const segment = new ChunkSegment(chunk, id, seq);
        this.push(segment, ChunkSegment.firstBytes(text, chunk.data.chunk), seq);
        this.open = segment;
      } else this.push(text, Buffer.byteLength(text), seq); // native: this runs for most frames the server sends
    }
    while (this.size > this.limits.maxMessages || (this.bytes > this.limits.maxBytes && this.size > 0))
      this.dropOldest();
    this.compact();
    return sealed && sealed.size >= COALESCE_MIN_CHUNKS ? sealed.run() : undefined;
  }

  /** The client has everything up to `seq`: those frames need not be kept. */
  acknowledge(seq: number): void {
    while (this.size > 0 && (this.ends[this.start] as number) <= seq) this.dropOldest();
    this.droppedThrough = Math.max(this.droppedThrough, Math.min(seq, this.newest));
    this.compact();
  }

  /** The frames after `lastSeq`, in order; a gap if some of them were dropped. */
  since(lastSeq: number): ReplayResult {
    if (lastSeq >= this.newest) return { frames: [] };
    if (lastSeq < this.droppedThrough) return { gap: { oldestHeld: this.droppedThrough + 1 } };
    // The first entry that ends after lastSeq (a segment may hold lastSeq itself).
    let low = this.start;
    let high = this.entries.length - 1;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((this.ends[middle] as number) > lastSeq) high = middle;
      else low = middle + 1;
    }
    const frames: string[] = [];
    for (let i = low; i < this.entries.length; i++) {
      const entry = this.entries[i] as string | ChunkSegment;
      if (typeof entry === 'string') frames.push(entry);
      else for (const frame of entry.frames(lastSeq)) frames.push(frame);
    }
    return { frames };
  }

  /** Drops everything (the session ends). */
  clear(): void {
    this.droppedThrough = this.newest;
    this.entries = [];
    this.sizes = [];
    this.ends = [];
    this.start = 0;
    this.bytes = 0;
    this.open = undefined;
  }

  private push(entry: string | ChunkSegment, bytes: number, seq: number): void {
    this.entries.push(entry);
    this.sizes.push(bytes);
    this.ends.push(seq);
    this.bytes += bytes;
  }

  /** The open segment takes no more chunks: its text is joined. */
  private seal(): ChunkSegment | undefined {
    const open = this.open;
    this.open = undefined;
    open?.seal();
    return open;
  }

  private dropOldest(): void {
    this.bytes -= this.sizes[this.start] as number;
    this.droppedThrough = this.ends[this.start] as number;
    if (this.entries[this.start] === this.open) this.open = undefined;
    // Let the entry go now, not at the next compaction.
    this.entries[this.start++] = undefined;
  }

  private compact(): void {
    // Reclaim the dropped front once it is most of the array, so appends stay O(1) amortised.
    if (this.start > 64 && this.start * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.start);
      this.sizes = this.sizes.slice(this.start);
      this.ends = this.ends.slice(this.start);
      this.start = 0;
    }
  }
}
