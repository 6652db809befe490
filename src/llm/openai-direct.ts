/**
 * The streamed chat request of `openAIProvider`, sent without the SDK's per-request machinery
 * (options merging, header building, logging preparation, fetch emulation): the URL and the
 * headers, which are the same for every request of a provider, are built once by the SDK
 * itself (`buildRequest`), and each request is one `http.request` on the keep-alive agent (or,
 * under Bun, one `fetch`: see {@link UpstreamHttpClient}). What
 * the SDK decides stays the SDK's: a non-2xx answer becomes its own error class
 * (`APIError.generate`), a connection failure its `APIConnectionError` (or the timeout one), and
 * retries follow its rules (connection errors and 408/409/429/5xx, `x-should-retry`,
 * `Retry-After`, its backoff, `X-Stainless-Retry-Count`).
 */
import type { IncomingMessage, ClientRequest, RequestOptions } from 'node:http';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { urlToHttpOptions } from 'node:url';
import type OpenAI from 'openai';
import { agentFor, discardBody, MAX_UPSTREAM_ERROR_BODY_BYTES, readWhole, responseHeaders } from './node-http-fetch';

/**
 * The `Retry-After` of a response, in ms (from `retry-after-ms`, or `retry-after` in seconds or
 * as a date), or undefined when it has none.
 */
export function retryAfterMsOf(headers: Headers | undefined): number | undefined {
  const ms = Number.parseFloat(headers?.get('retry-after-ms') ?? '');
  if (Number.isFinite(ms) && ms >= 0) return Math.round(ms);
  const value = headers?.get('retry-after');
  if (!value) return undefined;
  const seconds = Number.parseFloat(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/**
 * How the provider's own requests go out. `'node:http'`: `http.request` on a keep-alive agent,
 * the body read as a Node stream, under Node far cheaper per chunk than `fetch`'s web stream.
 * `'fetch'`: the runtime's `fetch`, the body read as a web stream; under Bun, whose `fetch` is
 * native and whose `node:http` is JavaScript over it, the cheaper one (bench/NOTES.md).
 */
export type UpstreamHttpClient = 'node:http' | 'fetch';

/** `'fetch'` under Bun, `'node:http'` elsewhere. */
export const defaultUpstreamHttpClient = (): UpstreamHttpClient =>
  typeof process.versions.bun === 'string' ? 'fetch' : 'node:http';

/** What every streamed chat request of one provider sends alike, and how the SDK would retry it. */
export interface DirectTemplate {
  readonly httpClient: UpstreamHttpClient;
  /** The request's URL, for `fetch`. */
  readonly url: string;
  /** `http.request` options (host, port, path, method, agent, the SDK's headers with retry count 0). */
  readonly options: Omit<RequestOptions, 'headers'> & { readonly headers: Readonly<Record<string, string>> };
  readonly secure: boolean;
  readonly timeoutMs: number;
  readonly maxRetries: number;
  /** Longest `Retry-After` waited out before a retry (see `OpenAIProviderOptions.maxRetryAfterMs`). */
  readonly maxRetryAfterMs: number;
  /** The client's SDK (its error classes): the one that made the client, whichever build of openai that is. */
  readonly sdk: typeof OpenAI;
}

/** The SDK a client was made by, for its error classes (statics of the client class). */
export const sdkOf = (client: OpenAI): typeof OpenAI => client.constructor as typeof OpenAI;

/** The SDK's logger levels at which it logs every request: it must then make them itself. */
const LOGGING_LEVELS = new Set(['info', 'debug']);

/**
 * The template of `client`'s streamed `POST /chat/completions`, or undefined when requests cannot
 * go around the SDK without behaving differently (it logs each request, sends an idempotency
 * key, or the endpoint is not HTTP(S)).
 */
export async function directTemplate(
  client: OpenAI,
  maxRetryAfterMs: number,
  httpClient: UpstreamHttpClient = defaultUpstreamHttpClient(),
): Promise<DirectTemplate | undefined> {
  if (client.logLevel !== undefined && LOGGING_LEVELS.has(client.logLevel)) return undefined;
  if ((client as unknown as { idempotencyHeader?: string }).idempotencyHeader) return undefined;
  // What `chat.completions.create` asks the client for; the body is the request's own each time.
  const options = {
    method: 'post',
    path: '/chat/completions',
    body: {},
    stream: true,
    __security: { bearerAuth: true },
  } as Parameters<OpenAI['buildRequest']>[0];
  const { req, url, timeout } = await client.buildRequest(options, { retryCount: 0 });
  const parsed = new URL(url);
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return undefined;
  const headers: Record<string, string> = {};
  new Headers(req.headers).forEach((value, name) => {
    headers[name] = value;
  });
  const secure = parsed.protocol === 'https:';
  return {
    httpClient,
    url,
    options: { ...urlToHttpOptions(parsed), method: 'POST', headers, agent: agentFor(secure) },
    secure,
    timeoutMs: timeout,
    maxRetries: client.maxRetries,
    maxRetryAfterMs,
    sdk: sdkOf(client),
  };
}

/** One request's exchange with the endpoint: what unsubscribing must stop. */
export class DirectExchange {
  cancelled = false;
  private request: ClientRequest | undefined;
  private incoming: IncomingMessage | undefined;
  /** Aborts a `fetch` attempt, and its body once answered. */
  private controller: AbortController | undefined;
  private wake: (() => void) | undefined;
  private cancelledPromise: Promise<void> | undefined;
  private resolveCancelled: (() => void) | undefined;

  /** Closes the connection (the endpoint sees the request end now) and ends any wait. */
  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.request?.destroy();
    this.incoming?.destroy();
    this.controller?.abort();
    this.wake?.();
    this.resolveCancelled?.();
  }

  /** Settles once cancelled (for waits that must not outlive the request); made on first use. */
  whenCancelled(): Promise<void> {
    this.cancelledPromise ??= this.cancelled
      ? Promise.resolve()
      : new Promise((resolve) => {
          this.resolveCancelled = resolve;
        });
    return this.cancelledPromise;
  }

  /** Sends one attempt; settles with the response (any status) or the error that kept it from coming. */
  attempt(template: DirectTemplate, body: string, retryCount: number): Promise<AttemptOutcome> {
    const headers =
      retryCount === 0
        ? template.options.headers
        : { ...template.options.headers, 'x-stainless-retry-count': String(retryCount) };
    return template.httpClient === 'fetch'
      ? this.fetchAttempt(template, headers, body)
      : this.httpAttempt(template, headers, body);
  }

  private httpAttempt(
    template: DirectTemplate,
    headers: Readonly<Record<string, string>>,
    body: string,
  ): Promise<AttemptOutcome> {
    return new Promise((resolve) => {
      const options = headers === template.options.headers ? template.options : { ...template.options, headers };
      const request = (template.secure ? httpsRequest : httpRequest)(options);
      this.request = request;
      let timedOut = false;
      // The SDK's timeout covers the wait for the response's headers.
      const timer = setTimeout(() => {
        timedOut = true;
        request.destroy();
      }, template.timeoutMs);
      // Not `once`: a request destroyed after its answer came may still emit errors, and none may go unheard.
      request.on('error', (error) => {
        clearTimeout(timer);
        resolve({ error: new TypeError('fetch failed', { cause: error }), timedOut });
      });
      request.once('response', (incoming) => {
        clearTimeout(timer);
        this.incoming = incoming;
        resolve({ incoming });
      });
      request.end(body);
    });
  }

  private async fetchAttempt(
    template: DirectTemplate,
    headers: Readonly<Record<string, string>>,
    body: string,
  ): Promise<AttemptOutcome> {
    const controller = new AbortController();
    this.controller = controller;
    let timedOut = false;
    // The SDK's timeout covers the wait for the response's headers.
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, template.timeoutMs);
    try {
      const response = await fetch(template.url, { method: 'POST', headers, body, signal: controller.signal });
      return { response };
    } catch (error) {
      // Not `instanceof Error`: fetch's errors may come from another realm (undici's, under Jest).
      return { error: error as Error, timedOut };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Waits `ms` (the SDK's wait before a retry), or less if cancelled. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.cancelled) return resolve();
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

/** An answer of either client, whatever its status. */
type Answer = { readonly incoming: IncomingMessage } | { readonly response: Response };
type AttemptOutcome = Answer | { readonly error: Error; readonly timedOut: boolean };

const statusOf = (answer: Answer): number =>
  'response' in answer ? answer.response.status : (answer.incoming.statusCode ?? 0);
// A copy: a fetch response's own headers are immutable, and `shouldRetry` may set one.
const headersOf = (answer: Answer): Headers =>
  'response' in answer ? new Headers(answer.response.headers) : responseHeaders(answer.incoming);

/**
 * Drops an answer not wanted (a retry follows): a Node body is read and dropped (a short one then
 * lets its connection back into the pool); a fetch body is cancelled, which closes its connection.
 */
function discard(answer: Answer): void {
  if ('incoming' in answer) discardBody(answer.incoming);
  else void answer.response.body?.cancel().catch(() => undefined);
}

/** An error answer's text, at most {@link MAX_UPSTREAM_ERROR_BODY_BYTES} of it (the rest is never read). */
async function errorTextOf(answer: Answer): Promise<string> {
  if ('incoming' in answer) return (await readWhole(answer.incoming, MAX_UPSTREAM_ERROR_BODY_BYTES)).toString('utf8');
  const reader = answer.response.body?.getReader();
  if (!reader) return '';
  const parts: Uint8Array[] = [];
  let bytes = 0;
  try {
    while (bytes < MAX_UPSTREAM_ERROR_BODY_BYTES) {
      const { value, done } = await reader.read();
      if (done) break;
      parts.push(value.subarray(0, MAX_UPSTREAM_ERROR_BODY_BYTES - bytes));
      bytes += value.length;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(parts).toString('utf8');
}

/** The SDK's `shouldRetry`, with a `Retry-After` longer than `maxRetryAfterMs` not retried (as `boundedRetryFetch` marks it). */
function shouldRetry(status: number, headers: Headers, maxRetryAfterMs: number): boolean {
  const retryAfterMs = retryAfterMsOf(headers);
  if (retryAfterMs !== undefined && retryAfterMs > maxRetryAfterMs) headers.set('x-should-retry', 'false');
  const header = headers.get('x-should-retry');
  if (header === 'true') return true;
  if (header === 'false') return false;
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

/** The SDK's wait before a retry (`retryRequest`): what the endpoint asks for, else its backoff with jitter, in ms. */
export function sdkRetryDelayMs(headers: Headers | undefined, retriesRemaining: number, maxRetries: number): number {
  let delayMs: number | undefined;
  const ms = headers?.get('retry-after-ms');
  if (ms) {
    const parsed = Number.parseFloat(ms);
    if (!Number.isNaN(parsed)) delayMs = parsed;
  }
  const after = headers?.get('retry-after');
  if (after && !delayMs) {
    const seconds = Number.parseFloat(after);
    delayMs = Number.isNaN(seconds) ? Date.parse(after) - Date.now() : seconds * 1000;
  }
  if (delayMs !== undefined) return delayMs;
  const seconds = Math.min(0.5 * 2 ** (maxRetries - retriesRemaining), 8);
  return seconds * (1 - Math.random() * 0.25) * 1000;
}

/**
 * Sends `body` as the template's request until a 2xx answer, retrying as the SDK would, and
 * resolves with that answer's body stream. Throws what the SDK would have thrown for the last
 * outcome (`APIError.generate` for a status, `APIConnectionError` or its timeout subclass), or
 * `APIUserAbortError` once cancelled.
 */
export async function openDirect(
  template: DirectTemplate,
  body: string,
  exchange: DirectExchange,
): Promise<IncomingMessage | Response> {
  const { maxRetries, sdk } = template;
  for (let retryCount = 0; ; retryCount++) {
    const retriesRemaining = maxRetries - retryCount;
    const outcome = await exchange.attempt(template, body, retryCount);
    if (exchange.cancelled) throw new sdk.APIUserAbortError();
    if ('error' in outcome) {
      const { error } = outcome;
      // The SDK's test: an abort (its timeout) or anything that says it timed out.
      const timedOut = outcome.timedOut || /timed? ?out/i.test(`${String(error)}${String(error.cause)}`);
      if (retriesRemaining > 0) {
        await exchange.sleep(sdkRetryDelayMs(undefined, retriesRemaining, maxRetries));
        if (exchange.cancelled) throw new sdk.APIUserAbortError();
        continue;
      }
      throw timedOut ? new sdk.APIConnectionTimeoutError() : new sdk.APIConnectionError({ cause: error });
    }
    const status = statusOf(outcome);
    if (status >= 200 && status < 300) return 'response' in outcome ? outcome.response : outcome.incoming;
    const headers = headersOf(outcome);
    if (shouldRetry(status, headers, template.maxRetryAfterMs) && retriesRemaining > 0) {
      discard(outcome);
      await exchange.sleep(sdkRetryDelayMs(headers, retriesRemaining, maxRetries));
      if (exchange.cancelled) throw new sdk.APIUserAbortError();
      continue;
    }
    const text = await errorTextOf(outcome).catch((error: unknown) =>
      error instanceof Error ? error.message : String(error),
    );
    const json = safeJSON(text);
    throw sdk.APIError.generate(status, json as object | undefined, json ? undefined : text, headers);
  }
}

/** The SDK's `safeJSON`: the parsed text, or undefined. */
function safeJSON(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
