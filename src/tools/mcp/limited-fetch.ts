/**
 * A fetch for the Streamable HTTP transport that bounds what one POST's answer may bring: the
 * SDK reads an answer whole, so without this a hostile server's endless result would grow
 * memory without bound. The long-lived GET stream of notifications is left alone (it is many
 * small messages over time, not one answer), but its opening is told: a server drops the
 * notifications it sends while that stream is not open (a `list_changed` among them).
 */

/**
 * `fetch`, with the body of every POST's answer cut off with an error past `maxBytes`;
 * `onStreamOpened` hears each GET answered with an event stream (the standalone stream, opened
 * after the handshake and again after each reconnect of it).
 */
export function limitedFetch(
  maxBytes: number,
  onStreamOpened?: () => void,
): (url: string | URL, init?: RequestInit) => Promise<Response> {
  return async (url, init) => {
    const response = await fetch(url, init);
    const method = (init?.method ?? 'GET').toUpperCase();
    if (method === 'GET' && response.ok && response.headers.get('content-type')?.startsWith('text/event-stream'))
      onStreamOpened?.();
    if (method !== 'POST' || response.body === null) return response;
    let seen = 0;
    const counted = response.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          seen += chunk.byteLength;
          if (seen > maxBytes)
            controller.error(new Error(`mcp_message_too_large: the answer passed ${maxBytes} bytes`));
          else controller.enqueue(chunk);
        },
      }),
    );
    return new Response(counted, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  };
}
