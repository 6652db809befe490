import type { ServerMessageInput } from '../protocol/codecs';

/**
 * Longest text one `llm_chunk` frame carries, in UTF-16 code units (64 Ki): a longer chunk goes
 * out as several consecutive frames (chunks are additive), so one large upstream chunk is never
 * one frame larger than a connection's send buffer may hold.
 */
export const MAX_CHUNK_FRAME_CHARS = 64 * 1024;

type TextChunk = Extract<ServerMessageInput, { type: 'llm_chunk' }>;

const isTextChunk = (message: ServerMessageInput | undefined): message is TextChunk =>
  message?.type === 'llm_chunk' && !message.data.isComplete;

/** Where a queue writes to: whether the connection is congested, and how to put a message into the stream. */
export interface SendQueuePort {
  congested(): boolean;
  emit(message: ServerMessageInput): void;
}

/** How many characters of `text` go into the next frame: at most {@link MAX_CHUNK_FRAME_CHARS}, never half a surrogate pair. */
function pieceLength(text: string): number {
  if (text.length <= MAX_CHUNK_FRAME_CHARS) return text.length;
  const code = text.charCodeAt(MAX_CHUNK_FRAME_CHARS - 1);
  return code >= 0xd800 && code <= 0xdbff ? MAX_CHUNK_FRAME_CHARS - 1 : MAX_CHUNK_FRAME_CHARS;
}

/**
 * The messages of one session's stream that wait for its connection to drain, in order. Reply
 * text that arrives while the connection is congested is merged into one pending chunk
 * (coalesced); any other message waits behind pending text, so the order never changes. Pending
 * text goes out in frames of at most {@link MAX_CHUNK_FRAME_CHARS}, only while the connection
 * takes more, so a large chunk never lands in the send buffer at once.
 */
export class SendQueue {
  private pending: ServerMessageInput[] = [];
  /** The size counted for each message of `pending` that is not text (text counts its length). */
  private readonly sizes = new WeakMap<ServerMessageInput, number>();
  private pendingBytes = 0;

  constructor(private readonly port: SendQueuePort) {}

  /** Whether nothing waits. */
  get empty(): boolean {
    return this.pending.length === 0;
  }

  /** About how many bytes wait (text length for chunks, JSON length for the others). */
  get bytes(): number {
    return this.pendingBytes;
  }

  /** Puts `message` into the stream now, or queues it while the connection is congested or text waits before it. */
  send(message: ServerMessageInput): void {
    // The common case first: nothing waits, and the connection takes the message now.
    if (
      this.pending.length === 0 &&
      (!isTextChunk(message) || (message.data.chunk.length <= MAX_CHUNK_FRAME_CHARS && !this.port.congested()))
    )
      return this.port.emit(message);
    const last = this.pending[this.pending.length - 1];
    // Chunks of one reply merge; a chunk pushed by the application (no requestId) stays as it was pushed.
    if (
      isTextChunk(message) &&
      isTextChunk(last) &&
      message.data.requestId !== undefined &&
      last.data.requestId === message.data.requestId
    ) {
      this.pending[this.pending.length - 1] = {
        type: 'llm_chunk',
        data: { ...last.data, chunk: last.data.chunk + message.data.chunk },
      };
      this.pendingBytes += message.data.chunk.length;
    } else {
      // Behind waiting messages, or a chunk too long for one frame or for a congested connection.
      this.pending.push(message);
      this.pendingBytes += this.sizeOf(message);
    }
    this.flush(false);
  }

  /** Emits what waits: all of it, or (`all` false) only while the connection is not congested. */
  flush(all: boolean): void {
    while (this.pending.length > 0) {
      if (!all && this.port.congested()) return;
      const first = this.pending[0] as ServerMessageInput;
      if (isTextChunk(first) && first.data.chunk.length > MAX_CHUNK_FRAME_CHARS) {
        const length = pieceLength(first.data.chunk);
        this.pending[0] = { type: 'llm_chunk', data: { ...first.data, chunk: first.data.chunk.slice(length) } };
        this.pendingBytes -= length;
        this.port.emit({ type: 'llm_chunk', data: { ...first.data, chunk: first.data.chunk.slice(0, length) } });
        continue;
      }
      this.pending.shift();
      this.pendingBytes = this.pending.length === 0 ? 0 : this.pendingBytes - this.sizeOf(first);
      this.port.emit(first);
    }
  }

  private sizeOf(message: ServerMessageInput): number {
    if (isTextChunk(message)) return message.data.chunk.length;
    let size = this.sizes.get(message);
    if (size === undefined) {
      size = JSON.stringify(message.data).length;
      this.sizes.set(message, size);
    }
    return size;
  }

  /** Drops everything waiting (the session ends). */
  clear(): void {
    this.pending = [];
    this.pendingBytes = 0;
  }
}
