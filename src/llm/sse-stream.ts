import { createParser } from 'eventsource-parser';
import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import type { Readable } from 'node:stream';
import { UpstreamError } from '../errors';

/** Decoding options of every read (one object, not one per read). */
const STREAMING: TextDecodeOptions = { stream: true };

/** Turns the bytes of a Chat Completions SSE body into chunks, in order, until `[DONE]`. */
class ChunkParser {
  /** `[DONE]` has arrived: nothing more is read. */
  finished = false;
  /** Set when the stream reported an error or sent something that is not JSON. */
  failure: UpstreamError | undefined;
  private readonly decoder = new TextDecoder();
  private readonly parser;
  /** Bytes fed since an event last completed: what the parser may be holding of one unfinished event. */
  private sinceEvent = 0;
  private eventEnded = false;

  constructor(
    onChunk: (chunk: ChatCompletionChunk) => void,
    private readonly maxEventBytes = Infinity,
  ) {
    this.parser = createParser({
      onEvent: (event) => {
        this.eventEnded = true;
        if (this.finished || this.failure) return;
        if (event.data === '[DONE]') {
          this.finished = true;
          return;
        }
        let payload: ChatCompletionChunk & { error?: { message?: string } };
        try {
          payload = JSON.parse(event.data) as typeof payload;
        } catch {
          this.failure = new UpstreamError(
            'upstream_error',
            `the model stream sent data that is not JSON: ${event.data.slice(0, 80)}`,
            { retryable: true },
          );
          return;
        }
        if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
          this.failure = new UpstreamError(
            'upstream_error',
            `the model stream sent an event that is not a chat completion chunk: ${event.data.slice(0, 80)}`,
            {
              retryable: true,
            },
          );
          return;
        }
        if (event.event === 'error' || payload.error) {
          const detail = payload.error?.message ?? event.data.slice(0, 200);
          this.failure = new UpstreamError('upstream_error', `the model stream reported an error: ${detail}`, {
            retryable: true,
          });
          return;
        }
        onChunk(payload);
      },
    });
  }

  /** One network read; throws the stream's failure. Returns whether to read on. */
  feed(bytes: Uint8Array): boolean {
    this.eventEnded = false;
    this.parser.feed(this.decoder.decode(bytes, STREAMING));
    if (this.failure) throw this.failure;
    // Counted per read: what follows the last event of a read is counted from the next one.
    this.sinceEvent = this.eventEnded ? 0 : this.sinceEvent + bytes.length;
    if (this.sinceEvent > this.maxEventBytes) {
      throw new UpstreamError(
        'reply_too_large',
        `the model stream sent one event of more than ${this.maxEventBytes} bytes; the reply was stopped`,
        {
          retryable: false,
        },
      );
    }
    return !this.finished;
  }
}

/** How a stream is read. */
export interface StreamReadOptions {
  /**
   * Most bytes one SSE event may take: past it the read fails with `reply_too_large` instead of
   * holding the event whole (the parser keeps an unfinished event in memory). @default Infinity
   */
  readonly maxEventBytes?: number;
}

/**
 * Reads a Chat Completions SSE body with eventsource-parser, calling `onChunk` for each chunk in
 * order, until `[DONE]` or the end of the body. Between network reads it waits for `pause()`
 * when that returns a promise (backpressure). A stream that reports an error, or sends data that
 * is not JSON, fails with an {@link UpstreamError}; so does a body cut mid-way (the read throws).
 *
 * The openai SDK's own iterator decodes line by line in JavaScript and copies its buffer on every
 * read; this is the path the server spends the most CPU of its own on (see bench/PROFILE.md).
 */
export async function readChatCompletionStream(
  body: ReadableStream<Uint8Array>,
  onChunk: (chunk: ChatCompletionChunk) => void,
  pause?: () => Promise<unknown> | undefined,
  options: StreamReadOptions = {},
): Promise<void> {
  const parser = new ChunkParser(onChunk, options.maxEventBytes);
  const reader = body.getReader();
  let wanted = true;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      if (!parser.feed(value)) {
        // [DONE]: the rest of the body (if any) is read and dropped, so that a fetch connection
        // goes back to the pool at its end (cancelling closes it), as the Node reader does.
        wanted = false;
        void readToEnd(reader);
        return;
      }
      const wait = pause?.();
      if (wait) await wait;
    }
  } finally {
    // After a failure the body is not wanted: its connection is closed (a no-op at the body's end).
    if (wanted) await reader.cancel().catch(() => undefined);
  }
}

/** Reads a body to its end, dropping what it reads; a failure ends it (nothing waits for it). */
async function readToEnd(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
  try {
    while (!(await reader.read()).done);
  } catch {
    // The connection failed after [DONE]: nothing of the reply is lost.
  }
}

/**
 * {@link readChatCompletionStream} for a Node stream (a response of `nodeHttpFetch`): read with
 * `data` events, paused while `pause()` is pending, without a promise per read. A body that
 * closes before its end (the connection was cut) fails.
 */
export function readChatCompletionNodeStream(
  body: Readable,
  onChunk: (chunk: ChatCompletionChunk) => void,
  pause?: () => Promise<unknown> | undefined,
  options: StreamReadOptions = {},
): Promise<void> {
  const parser = new ChunkParser(onChunk, options.maxEventBytes);
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const settle = (error?: unknown): void => {
      if (settled) return;
      settled = true;
      body.off('data', onData);
      if (error === undefined) resolve();
      // What the body stream emitted on `error`, passed on as it came.
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
      else reject(error);
    };
    const onData = (bytes: Buffer): void => {
      if (settled) return;
      try {
        if (!parser.feed(bytes)) {
          // [DONE]: the rest of the body (if any) is not wanted; the connection goes back to the pool at its end.
          settle();
          body.resume();
          return;
        }
      } catch (error) {
        settle(error);
        body.destroy();
        return;
      }
      const wait = pause?.();
      if (!wait) return;
      body.pause();
      void wait.then(() => body.resume());
    };
    body.on('data', onData);
    body.once('end', () => settle());
    body.once('error', (error) => settle(error));
    body.once('close', () =>
      settle(body.readableEnded ? undefined : new Error('the connection closed before the stream ended')),
    );
  });
}
