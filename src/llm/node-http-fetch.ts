/**
 * A `fetch` for the openai SDK on Node's own HTTP client, so a streamed reply is read as a Node
 * stream: the global fetch (undici) hands the body over as a WHATWG ReadableStream, whose
 * machinery costs more CPU per chunk than anything else the server does with it (bench/NOTES.md).
 * The SDK keeps making the request: auth, retries, timeouts and error mapping are its own.
 *
 * An event stream's body is not given to the Response (whose body is null); it is kept beside
 * it for {@link nodeBodyOf}. Any other body is read into the Response, so the SDK reads it as
 * usual: a 2xx one (JSON) whole, an error's up to {@link MAX_UPSTREAM_ERROR_BODY_BYTES}.
 */
import { Agent as HttpAgent, type IncomingMessage, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

const kNodeBody = Symbol('llm-ws node body');
type WithNodeBody = Response & { [kNodeBody]?: IncomingMessage };

// Keep-alive: a chat server makes many requests to one endpoint.
const httpAgent = new HttpAgent({ keepAlive: true });
const httpsAgent = new HttpsAgent({ keepAlive: true });

/** The keep-alive agent for `https:` (`secure`) or `http:` endpoints, shared by every request of the process. */
export function agentFor(secure: boolean): HttpAgent {
  return secure ? httpsAgent : httpAgent;
}

/** The Node stream of an event-stream response made by {@link nodeHttpFetch}, if it is one. */
export function nodeBodyOf(response: Response): IncomingMessage | undefined {
  return (response as WithNodeBody)[kNodeBody];
}

const abortError = (): Error => new DOMException('This operation was aborted', 'AbortError');

function headersOf(init: RequestInit | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  new Headers(init?.headers).forEach((value, name) => {
    headers[name] = value;
  });
  return headers;
}

/**
 * Most bytes of an endpoint's error body read (64 KiB): enough for any error message, while a
 * proxy's error page of a gigabyte costs no more memory than this. The rest is not read: the
 * connection is closed instead.
 */
export const MAX_UPSTREAM_ERROR_BODY_BYTES = 64 * 1024;

/**
 * The body of a response, whole, or its first `maxBytes` bytes: past them the response is
 * destroyed (its connection closed, so the rest is never read or kept).
 */
export function readWhole(incoming: IncomingMessage, maxBytes = Infinity): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let bytes = 0;
    incoming.on('data', (part: Buffer) => {
      if (bytes + part.length <= maxBytes) {
        parts.push(part);
        bytes += part.length;
        return;
      }
      parts.push(part.subarray(0, maxBytes - bytes));
      resolve(Buffer.concat(parts));
      incoming.destroy();
    });
    incoming.once('end', () => resolve(Buffer.concat(parts)));
    incoming.once('error', reject);
    // Destroyed (the request was cancelled) with no error: settle anyway, so no read hangs.
    incoming.once('close', () => reject(new Error('the connection closed before the body ended')));
  });
}

/**
 * Throws away a response's body that is not wanted (a retried error): read while it is short, so
 * the keep-alive connection goes back to the pool, and the connection closed once it passes
 * {@link MAX_UPSTREAM_ERROR_BODY_BYTES}.
 */
export function discardBody(incoming: IncomingMessage): void {
  let bytes = 0;
  incoming.on('data', (part: Buffer) => {
    bytes += part.length;
    if (bytes > MAX_UPSTREAM_ERROR_BODY_BYTES) incoming.destroy();
  });
  incoming.resume();
}

/** A response's headers as fetch's `Headers`. */
export function responseHeaders(incoming: IncomingMessage): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(incoming.headers)) {
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) headers.append(name, item);
  }
  return headers;
}

/** What the openai SDK calls as `fetch`: string or URL input, string body, an AbortSignal. */
export const nodeHttpFetch = (input: string | URL | Request, init?: RequestInit): Promise<Response> =>
  new Promise((resolve, reject) => {
    if (input instanceof Request) return reject(new TypeError('nodeHttpFetch takes a URL, not a Request'));
    const url = new URL(input);
    const signal = init?.signal ?? undefined;
    if (signal?.aborted) return reject(abortError());
    const secure = url.protocol === 'https:';
    const request = (secure ? httpsRequest : httpRequest)(url, {
      method: init?.method ?? 'GET',
      headers: headersOf(init),
      agent: secure ? httpsAgent : httpAgent,
    });
    let incoming: IncomingMessage | undefined;
    const onAbort = (): void => {
      // Closes the connection: the endpoint sees the request end now, not at its next write.
      request.destroy(abortError());
      incoming?.destroy(abortError());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    request.once('error', (error) => {
      signal?.removeEventListener('abort', onAbort);
      reject(signal?.aborted ? abortError() : new TypeError('fetch failed', { cause: error }));
    });
    request.once('response', (response) => {
      incoming = response;
      const status = response.statusCode ?? 0;
      const init = { status, statusText: response.statusMessage ?? '', headers: responseHeaders(response) };
      const eventStream =
        status >= 200 && status < 300 && /^text\/event-stream/i.test(response.headers['content-type'] ?? '');
      if (eventStream) {
        const streamed: WithNodeBody = new Response(null, init);
        streamed[kNodeBody] = response;
        response.once('close', () => signal?.removeEventListener('abort', onAbort));
        return resolve(streamed);
      }
      // An error's body (any other answer than 2xx) is read up to a bound; a 2xx one (JSON) whole.
      readWhole(response, status >= 200 && status < 300 ? Infinity : MAX_UPSTREAM_ERROR_BODY_BYTES).then(
        (body) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(new Response(status === 204 || status === 304 ? null : new Uint8Array(body), init));
        },
        (error: unknown) => reject(signal?.aborted ? abortError() : new TypeError('fetch failed', { cause: error })),
      );
    });
    const body = init?.body;
    if (body !== undefined && body !== null && typeof body !== 'string') {
      request.destroy();
      return reject(new TypeError('nodeHttpFetch sends string bodies only (the SDK sends JSON text)'));
    }
    request.end(body ?? undefined);
  });
