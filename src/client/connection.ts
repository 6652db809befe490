/**
 * The connection as an rxjs pipeline. Each subscription is one `connect()`, with its own state;
 * each attempt is a fresh socket made when the attempt is subscribed (as `defer()` would make
 * it), as an Observable of its frames ({@link webSocketFrames}: the events of rxjs's `webSocket`
 * subject without its weight), watched for silence, with its handshake (the greeting, or a
 * resume and its answer) in the attempt's own stream; {@link retryWithBackoff} makes the next
 * attempt after a loss. The client on top gets a {@link Link} for each greeted connection and
 * hears the rest through {@link ConnectionHooks}. Browser-safe: rxjs, the protocol's encoder and
 * the errors only. */
import { interval, Observable, type Subscriber } from 'rxjs';
import { ConnectionClosedError, type LLMWSError } from '../errors';
import { retryWithBackoff } from '../operators/retry-with-backoff';
import { serverErrorOf } from '../operators/reply-of';
import type { ServerMessage } from '../protocol/codecs';
import { encodeMessage } from '../protocol/encode';
import { type CloseInfo, connectionError } from './connection-error';
import type { ReconnectAttempt, SessionCredentials, WebSocketConstructor } from './options';
import type { ResolvedOptions } from './resolve-options';
import { silenceTimeout } from './silence-timeout';
import { webSocketFrames } from './web-socket-frames';

/** How a socket that failed without a close frame closed (RFC 6455 7.1.5). */
const ABNORMAL_CLOSURE: CloseInfo = { code: 1006, reason: '' };

/** A connection the server greeted. */
export interface Link {
  /** Counts the greeted connections of one `connect()` from 1: a request remembers the one it went out on. */
  readonly epoch: number;
  /** Writes a frame. */
  send(text: string): void;
}

/**
 * The session a (re)connect resumes and how far its stream was read. The client's, not one
 * subscription's: a session outlives a `connect()` that gave up, until `disconnect()`.
 */
export interface SessionCursor {
  session: SessionCredentials | undefined;
  lastSeq: number;
}

/** What the pipeline tells the client it runs for, and asks of it. */
export interface ConnectionHooks {
  readonly cursor: SessionCursor;
  /** Decodes and counts a frame, and passes it on to the app: undefined for a bad frame or one already read. */
  receive(raw: string): ServerMessage | undefined;
  /** Counts a frame the pipeline itself writes (a resume). */
  written(text: string): void;
  nextId(): string;
  /** The server greeted a connection (after a resume, once it is settled). */
  greeted(link: Link): void;
  /** A resume was refused: what went out on the connections before `epoch` is lost with the old session. */
  resumeRefused(error: LLMWSError, epoch: number): void;
  /** A greeted connection ended. */
  lost(close: CloseInfo | undefined, willReconnect: boolean): void;
  /** An attempt failed (told at once, not only when the last one gives up). */
  failed(error: ConnectionClosedError): void;
  /** A reconnect is about to be scheduled. */
  retrying(attempt: ReconnectAttempt): void;
  /** A heartbeat is due. */
  ping(): void;
}

/** What one `connect()` keeps across its attempts. */
interface RunState {
  /** Greeted connections so far. */
  epoch: number;
  /** What the server's `closing` message asked the next reconnect to wait, in ms. */
  retryAfterMs: number;
}

/**
 * The connection of one client: subscribing connects, reconnects with backoff on loss, and
 * emits each greeted {@link Link}; it errors with a {@link ConnectionClosedError} when the
 * server refuses the client or the reconnects give up. Unsubscribing closes the socket (1000).
 */
export function connection(
  options: ResolvedOptions,
  WebSocketCtor: WebSocketConstructor,
  hooks: ConnectionHooks,
): Observable<Link> {
  return new Observable<Link>((subscriber) => {
    const run: RunState = { epoch: 0, retryAfterMs: 0 };
    // Made afresh on each (re)subscription by the retry, as defer() would (defer() itself pulls innerFrom into a browser bundle).
    const attempts = new Observable<Link>((each) =>
      attempt(options, WebSocketCtor, hooks, run, subscriber).subscribe(each),
    );
    return attempts
      .pipe(
        retryWithBackoff({
          maxAttempts: options.reconnectAttempts,
          initialDelayMs: options.reconnectDelay,
          maxDelayMs: options.maxReconnectDelay,
          jitter: options.reconnectJitter,
          random: options.random,
          scheduler: options.scheduler,
          shouldRetry: (error) => !(error instanceof ConnectionClosedError && error.code === 'connection_refused'),
          adjustDelay: (delayMs) => honourRetryAfter(run, delayMs, options),
          onRetry: ({ attempt, delayMs }) => hooks.retrying({ attempt, delayMs }),
          giveUp: (attempts, last) =>
            new ConnectionClosedError(
              'reconnect_failed',
              `gave up after ${attempts} reconnect attempts: ${(last as Error).message}`,
              { closeCode: (last as ConnectionClosedError).closeCode, cause: last },
            ),
        }),
      )
      .subscribe(subscriber);
  });
}

/** The delay before the next reconnect, no shorter than what the server's `closing` asked for (jittered). */
function honourRetryAfter(run: RunState, delayMs: number, options: ResolvedOptions): number {
  const floor = run.retryAfterMs;
  run.retryAfterMs = 0;
  if (floor <= 0) return delayMs;
  // Spread the herd over [floor, floor * (1 + jitter)], so a restarted server is not hit at once.
  return Math.max(delayMs, Math.round(floor * (1 + options.reconnectJitter * options.random())));
}

/**
 * One attempt: a socket, its resume if there is a session to resume, and its frames. Emits the
 * {@link Link} once the server greets it; errors when the connection ends (even cleanly: a
 * closed connection is a loss to recover from).
 */
function attempt(
  options: ResolvedOptions,
  WebSocketCtor: WebSocketConstructor,
  hooks: ConnectionHooks,
  run: RunState,
  whole: Subscriber<Link>,
): Observable<Link> {
  return new Observable<Link>((subscriber) => {
    const { cursor } = hooks;
    let close: CloseInfo | undefined;
    // The resume this connection asked for, and the fresh session to fall back on if it fails.
    let resumeId: string | undefined;
    let fallback: SessionCredentials | undefined;
    let link: Link | undefined;
    // Set once the attempt is over (failed, or left by the app): the socket's end is no news then.
    let over = false;
    // The socket, once open: what frames are written on.
    let socket: WebSocket | undefined;
    const write = (text: string): void => {
      // As rxjs's webSocket subject: a frame written on a socket no longer open is dropped.
      if (socket?.readyState === 1) socket.send(text);
    };
    const socket$ = webSocketFrames(WebSocketCtor, options.url, options.protocols, {
      open: (opened) => {
        socket = opened;
        if (!cursor.session) return;
        resumeId = hooks.nextId();
        // The first frame on the connection, ahead of anything queued.
        const data = { ...cursor.session, lastSeq: cursor.lastSeq, ...(options.share ? { share: true } : {}) };
        const text = encodeMessage({ type: 'resume', id: resumeId, data });
        write(text);
        hooks.written(text);
      },
      close: (event) => (close = { code: event.code, reason: event.reason }),
    });
    const greet = (): void => {
      link = { epoch: ++run.epoch, send: write };
      hooks.greeted(link);
      subscriber.next(link);
    };
    const adopt = (session: SessionCredentials): void => {
      cursor.session = session;
      cursor.lastSeq = 0;
    };
    const lose = (error: ConnectionClosedError): void => {
      if (over) return;
      over = true;
      hooks.failed(error);
      subscriber.error(error);
    };
    const frames = socket$
      .pipe(silenceTimeout(options.scheduler, options.timeout, options.heartbeatInterval))
      .subscribe({
        next: (raw) => {
          const message = hooks.receive(raw);
          if (message?.type === 'closing') run.retryAfterMs = message.data.retryAfterMs;
          if (message?.type === 'session') {
            const { sessionId, resumeToken, resumed, requestId, lastSeq } = message.data;
            if (resumed && link && requestId !== undefined && requestId !== resumeId) {
              // An opened conversation: the connection is on it now, its stream read from `lastSeq` on.
              cursor.session = { sessionId, resumeToken };
              cursor.lastSeq = lastSeq ?? 0;
              return;
            }
            if (resumed) return greet();
            if (resumeId) {
              fallback = { sessionId, resumeToken };
              return;
            }
            adopt({ sessionId, resumeToken });
            return greet();
          }
          if (message?.type === 'error' && resumeId !== undefined && message.data.requestId === resumeId && fallback) {
            // The old session is gone (or the replay cannot be whole): what was asked on it is lost.
            hooks.resumeRefused(serverErrorOf(message), run.epoch + 1);
            adopt(fallback);
            greet();
          }
        },
        error: (error: unknown) => {
          const failure = connectionError(error, close);
          // The socket errors on the error event, ahead of the close event: a socket that fails without a
          // close frame closed with 1006 (RFC 6455 7.1.5), which is what the close event will say.
          close ??= ABNORMAL_CLOSURE;
          lose(failure);
        },
        complete: () => lose(connectionError(undefined, close)),
      });
    const pings =
      options.heartbeatInterval > 0
        ? interval(options.heartbeatInterval, options.scheduler).subscribe(() => {
            if (link) hooks.ping();
          })
        : undefined;
    return () => {
      pings?.unsubscribe();
      // Left by the app (disconnect()) while greeted: a normal closure, 1000 (closing without a code
      // would tell the server 1005, no status).
      if (!over && link) {
        over = true;
        socket?.close(1000, 'client disconnect');
      }
      over = true;
      frames.unsubscribe();
      if (link) hooks.lost(close, !whole.closed);
    };
  });
}
