import { createParser } from 'eventsource-parser';
import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import { UpstreamError } from '../errors';

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
): Promise<void> {
  const decoder = new TextDecoder();
  let finished = false;
  let failure: UpstreamError | undefined;
  const parser = createParser({
    onEvent: (event) => {
      if (finished || failure) return;
      if (event.data === '[DONE]') {
        finished = true;
        return;
      }
      let payload: ChatCompletionChunk & { error?: { message?: string } };
      try {
        payload = JSON.parse(event.data);
      } catch {
        failure = new UpstreamError('upstream_error', `the model stream sent data that is not JSON: ${event.data.slice(0, 80)}`, { retryable: true });
        return;
      }
      if (event.event === 'error' || payload.error) {
        const detail = payload.error?.message ?? event.data.slice(0, 200);
        failure = new UpstreamError('upstream_error', `the model stream reported an error: ${detail}`, { retryable: true });
        return;
      }
      onChunk(payload);
    },
  });
  const reader = body.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      parser.feed(decoder.decode(value, { stream: true }));
      if (failure) throw failure;
      if (finished) break;
      const wait = pause?.();
      if (wait) await wait;
    }
  } finally {
    // Frees the connection at [DONE] or a failure; a no-op once the body has ended.
    await reader.cancel().catch(() => undefined);
  }
}
