/**
 * The lean RxJS client: connect, send, stream the reply. Browser-safe: it imports rxjs and the
 * protocol's encoder and decoder only, and takes its WebSocket constructor from the options or
 * the global scope. {@link WSClient} adds the rest (callbacks, controls, conversations, approvals).
 */
import { BehaviorSubject, Observable, type OperatorFunction, Subject, Subscription, timer } from 'rxjs';
import { ClientError, ConnectionClosedError, type LLMWSError } from '../errors';
import { replyOf, requestIdOf } from '../operators/reply-of';
import type {
  ClientMessage,
  ClientToolDeclaration,
  CompleteMessage,
  ServerMessage,
  ServerMessageOf,
  ServerMessageType,
  SessionStatus,
} from '../protocol/codecs';
import { encodeMessage } from '../protocol/encode';
import { connection } from './connection';
import type {
  ClientStats,
  ConnectionStatus,
  DisconnectInfo,
  ReconnectAttempt,
  ReplyEvent,
  SendOptions,
  SessionCredentials,
  TraceContext,
  ReactiveClientOptions,
  WebSocketConstructor,
} from './options';
import type { OutgoingFrame } from './outbox';
import { type ResolvedOptions, resolveClientOptions } from './resolve-options';
import { select } from './select';
import { Wire } from './wire';

/** What `send()` and `sendMessage()` resolve with: the `llm_complete` data. */
export type CompleteData = CompleteMessage['data'];

/** Marks a promise as handled (its errors are on `errors$`), and returns it for callers who await it. */
export function reported<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

/** One `connect()` until the client stops: its greeting, and how to stop it. */
interface Run {
  readonly greeted: Promise<void>;
  readonly stop: (reason: LLMWSError) => void;
}

/**
 * The lean client: typed observables of what the server says, `send()` as a cold Observable per
 * reply, reconnects with backoff, jitter and resume, protocol heartbeats, and `sendMessage()`.
 * What a chat needs to connect, send and stream, and no more: an app that only does that bundles
 * this class, not {@link WSClient} (the callback API, controls, conversations and approvals).
 *
 * Every method settles or reports: a send with no connection (and none under way) fails at once
 * with `not_connected`; one made while the client reconnects waits at most `queueTimeoutMs`. No
 * promise this client returns can become an unhandled rejection: each error is also on `errors$`.
 *
 * ```ts
 * const client = new ReactiveClient({ url: 'ws://localhost:3000/ws' });
 * client.chunks$.subscribe(({ chunk }) => render(chunk));
 * await client.connect();
 * await client.sendMessage('Hello');
 * ```
 */
export class ReactiveClient {
  protected readonly options: ResolvedOptions;
  protected readonly status = new BehaviorSubject<ConnectionStatus>('disconnected');
  protected readonly incoming = new Subject<ServerMessage>();
  protected readonly errors = new Subject<LLMWSError>();
  protected readonly disconnections = new Subject<DisconnectInfo>();
  /** The session's status as last reported; undefined until the server says. */
  protected readonly sessionState = new BehaviorSubject<SessionStatus | undefined>(undefined);
  private readonly reconnecting = new Subject<ReconnectAttempt>();
  /** The session to resume, and how far its stream was read (joining one: from seq 0). */
  private readonly cursor: { session: SessionCredentials | undefined; lastSeq: number };
  protected readonly wire: Wire;
  /** Set from `connect()` until the client stops for good: a connection is open or being (re)made. */
  private run: Run | undefined;
  /** Whether `connect()` was ever called, for the `not_connected` message. */
  private started = false;

  /** The connection: connecting, connected, reconnecting, disconnected. Replays the current value. */
  readonly status$: Observable<ConnectionStatus>;
  /** Every message the server sends, decoded. */
  readonly messages$: Observable<ServerMessage>;
  /** Every `llm_chunk`'s data. */
  readonly chunks$: Observable<ServerMessageOf<'llm_chunk'>['data']>;
  /** Every `llm_complete`'s data. */
  readonly completions$: Observable<CompleteData>;
  /**
   * The session's status (idle, thinking, streaming, calling_tool, paused) as the server reports
   * it, on each change only. Replays the current one, once known, to a new subscriber.
   */
  readonly sessionStatus$: Observable<SessionStatus>;
  /**
   * Every error, once: server `error` messages, frames that failed to decode, connection
   * failures, and the client's own refusals of a request (`not_connected`, `queue_full`,
   * `request_timeout`). Never errors itself, and nothing is thrown into your code.
   */
  readonly errors$: Observable<LLMWSError>;
  /** Each reconnect about to be attempted. */
  readonly reconnecting$: Observable<ReconnectAttempt>;
  /** Each connection that ended. */
  readonly disconnected$: Observable<DisconnectInfo>;

  constructor(options: ReactiveClientOptions) {
    this.options = resolveClientOptions(options);
    this.cursor = { session: options.session && { ...options.session }, lastSeq: 0 };
    this.wire = new Wire(this.options, this.cursor, {
      incoming: this.incoming,
      errors: this.errors,
      sessionState: this.sessionState,
    });
    // Each change once: the status is only set when it changes (see `setStatus`).
    this.status$ = this.status.asObservable();
    this.messages$ = this.incoming.asObservable();
    this.chunks$ = this.dataOf('llm_chunk');
    this.completions$ = this.dataOf('llm_complete');
    // The wire sets it on a change only.
    this.sessionStatus$ = select(this.sessionState, (status) => status);
    this.errors$ = this.errors.asObservable();
    this.reconnecting$ = this.reconnecting.asObservable();
    this.disconnected$ = this.disconnections.asObservable();
  }

  /** The session id the server gave the current connection. */
  get sessionId(): string | undefined {
    return this.cursor.session?.sessionId;
  }

  /**
   * The current session's id and resume token: hand them to another client (another tab, with
   * `share: true`) to open the same conversation there. Undefined before the first greeting.
   */
  get session(): SessionCredentials | undefined {
    return this.cursor.session;
  }

  /**
   * Connects, reconnecting with backoff on loss. Resolves once the server has greeted the
   * client; rejects with a {@link ConnectionClosedError} if every attempt fails (never an
   * unhandled rejection: the error is on `errors$` too). Calling it while connected or
   * connecting returns the same promise.
   */
  connect(): Promise<void> {
    if (this.run) return this.run.greeted;
    const WebSocketCtor = this.options.WebSocketCtor ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!WebSocketCtor) {
      return Promise.reject(
        new TypeError(
          "no WebSocket implementation: pass WebSocketCtor (on Node 20, import WSClient from 'llm-ws', which uses the ws package)",
        ),
      );
    }
    this.started = true;
    this.setStatus('connecting');
    const { wire } = this;
    const subscription = new Subscription();
    let greet!: () => void;
    let refuse!: (error: unknown) => void;
    const greeted = reported(
      new Promise<void>((resolve, reject) => {
        greet = resolve;
        refuse = reject;
      }),
    );
    // Known before subscribing: a socket that fails at once stops a run already there.
    const run: Run = {
      greeted,
      stop: (reason) => {
        this.run = undefined;
        refuse(reason);
        wire.close(reason);
        subscription.unsubscribe();
        this.setStatus('disconnected');
      },
    };
    this.run = run;
    // Each failed attempt is on errors$ at once (an app shows "cannot reach the server" while the
    // client still tries); the error that ends the run only if it is not that one again.
    let failed: unknown;
    const links$ = connection(this.options, WebSocketCtor, {
      cursor: this.cursor,
      receive: (raw) => wire.receive(raw),
      written: (text) => wire.stats.sent(text),
      nextId: () => wire.nextId(),
      greeted: (link) => wire.greeted(link, () => this.setStatus('connected')),
      resumeRefused: (error, epoch) => wire.outbox.failUnanswered(epoch, error),
      lost: (close, willReconnect) => {
        wire.lost(close);
        this.disconnections.next({ code: close?.code, reason: close?.reason ?? '', willReconnect });
      },
      failed: (error) => this.errors.next((failed = error)),
      retrying: (attempt) => {
        wire.stats.reconnects++;
        this.setStatus('reconnecting');
        this.reconnecting.next(attempt);
      },
      ping: () => wire.ping(),
    });
    subscription.add(
      links$.subscribe({
        next: () => greet(),
        error: (error: LLMWSError) => {
          if (error !== failed) this.errors.next(error);
          if (this.run === run) run.stop(error);
        },
      }),
    );
    return greeted;
  }

  /**
   * Closes the connection and stops reconnecting. Requests in flight fail with `disconnected`.
   * The session is forgotten: the next `connect()` starts a new conversation.
   */
  disconnect(): void {
    if (!this.run) return;
    this.run.stop(new ConnectionClosedError('disconnected', 'disconnect() was called', { retryable: false }));
    this.cursor.session = undefined;
    this.cursor.lastSeq = 0;
  }

  /** Sets the connection's status when it changes: `status$` tells each change once. */
  private setStatus(status: ConnectionStatus): void {
    if (status !== this.status.value) this.status.next(status);
  }

  /** Whether the server has greeted the current connection. */
  isConnected(): boolean {
    return this.status.value === 'connected';
  }

  /** Traffic counters and timings. */
  getStats(): ClientStats {
    return this.wire.stats.snapshot();
  }

  /**
   * Sends a message and returns its reply as a cold Observable: `llm_chunk`, `tool_call` and
   * `tool_result` messages as they come, then the `llm_complete`, then completion. Errors with a
   * {@link ServerError} when the server answers with an error, a {@link ConnectionClosedError}
   * when the connection drops for good mid-reply, or a {@link ClientError} (`not_connected`,
   * `queue_full`, `request_timeout`). Unsubscribing before the end, or the reply's `timeoutMs`
   * running out, aborts the reply on the server (and so the model request). Each subscription
   * sends the message once more.
   */
  send(text: string, options?: SendOptions): Observable<ReplyEvent> {
    const {
      timeoutMs = this.options.replyTimeoutMs,
      traceparent,
      tracestate,
      attachments,
      editOf,
      regenerate,
      ...messageOptions
    } = options ?? {};
    const clientTools = this.clientTools();
    return this.exchange<ReplyEvent>(
      (id) => ({
        type: 'user_message',
        id,
        data: {
          text,
          ...(Object.keys(messageOptions).length > 0 ? { options: messageOptions } : {}),
          // The client's tools go with every message: the server offers them for this reply only.
          ...(clientTools && clientTools.length > 0 ? { clientTools } : {}),
          ...(attachments && attachments.length > 0 ? { attachments: [...attachments] } : {}),
          ...this.traceContextFor(traceparent, tracestate),
          ...(editOf === undefined ? {} : { editOf }),
          ...(regenerate ? { regenerate: true } : {}),
        },
      }),
      replyOf(),
      {
        timeoutMs,
        what: 'the message',
        oneAtATime: true,
        timedOut: 'the reply did not complete',
        onCancel: (id) => {
          const abort = encodeMessage({ type: 'control', id: this.nextId(), data: { type: 'abort', requestId: id } });
          try {
            this.write({ text: abort, requestId: undefined });
          } catch {
            // No connection, or the queue is full: the reply runs to its end on the server, unseen.
          }
        },
      },
    );
  }

  /**
   * Sends a message; resolves with the `llm_complete` data, rejects with an error carrying a
   * `code` (see {@link send}). Safe to call without awaiting: the error is on `errors$` too.
   */
  sendMessage(text: string, options?: SendOptions): Promise<CompleteData> {
    // The reply's last event is its llm_complete (by hand: lastValueFrom's EmptyError would be dead weight here).
    return reported(
      new Promise<CompleteData>((resolve, reject) => {
        let last: ReplyEvent | undefined;
        this.send(text, options).subscribe({
          next: (event) => (last = event),
          error: reject,
          complete: () => resolve((last as CompleteMessage).data),
        });
      }),
    );
  }

  /** The trace context of a `user_message`: the one given to `send()`, else the client option's. */
  private traceContextFor(traceparent: string | undefined, tracestate: string | undefined): TraceContext {
    const context = traceparent === undefined ? this.options.traceContext?.() : { traceparent, tracestate };
    if (context?.traceparent === undefined) return {};
    return {
      traceparent: context.traceparent,
      ...(context.tracestate === undefined ? {} : { tracestate: context.tracestate }),
    };
  }

  /** The tools this client runs, declared on each message: none here (WSClient runs `tools`, with `humanInTheLoop`). */
  protected clientTools(): ClientToolDeclaration[] | undefined {
    return undefined;
  }

  protected dataOf<K extends ServerMessageType>(type: K): Observable<ServerMessageOf<K>['data']> {
    return select(this.incoming, (message) =>
      message.type === type ? (message.data as ServerMessageOf<K>['data']) : undefined,
    );
  }

  protected nextId(): string {
    return this.wire.nextId();
  }

  /**
   * Sends now when connected, queues (bounded) while the client connects or reconnects, and
   * queues a user_message behind one still queued or whose reply runs (see {@link Wire.write}).
   */
  protected write(frame: OutgoingFrame): 'sent' | 'queued' | 'held' {
    return this.wire.write(frame, this.run !== undefined, this.started);
  }

  /**
   * Sends the message `build` makes and mirrors the server's messages carrying its id, until
   * `settle` says the exchange is over. Fails with `not_connected` when there is no connection,
   * or none within `queueTimeoutMs`; with `request_timeout` after `timeoutMs`; with the
   * connection's error if it drops for good after the frame went out. Unsubscribing (or timing
   * out) after the frame went out calls `onCancel`; before, the queued frame is dropped.
   */
  protected exchange<T>(
    build: (id: string) => ClientMessage,
    settle: OperatorFunction<ServerMessage, T>,
    limits: {
      id?: string;
      timeoutMs?: number;
      what: string;
      timedOut: string;
      onCancel?: (id: string) => void;
      oneAtATime?: boolean;
    },
  ): Observable<T> {
    return new Observable<T>((subscriber) => {
      const { scheduler, queueTimeoutMs } = this.options;
      const id = limits.id ?? this.nextId();
      let settled = false;
      const end = (error: unknown): void => {
        settled = true;
        subscriber.error(error);
      };
      // The client's own refusals are reported on errors$ too: a caller who does not listen still hears of them.
      // Not settled by a timeout: the reply is aborted on the server then (see the teardown).
      const refuse = (error: ClientError): void => {
        this.errors.next(error);
        subscriber.error(error);
      };
      const answers = settle(
        select(this.incoming, (message) => (requestIdOf(message) === id ? message : undefined)),
      ).subscribe({
        next: (value) => subscriber.next(value),
        error: end,
        complete: () => {
          settled = true;
          subscriber.complete();
        },
      });
      let waiting: Subscription | undefined;
      const frame = { text: encodeMessage(build(id)), requestId: id, oneAtATime: limits.oneAtATime };
      // On a connection (out, or waiting behind a reply): the wait for one is over.
      this.wire.outbox.track(id, frame, end, () => waiting?.unsubscribe());
      const { timeoutMs } = limits;
      const deadline =
        timeoutMs !== undefined && Number.isFinite(timeoutMs)
          ? timer(timeoutMs, scheduler).subscribe(() =>
              refuse(new ClientError('request_timeout', `${limits.timedOut} within ${timeoutMs} ms`)),
            )
          : undefined;
      try {
        if (this.write(frame) === 'queued' && Number.isFinite(queueTimeoutMs)) {
          waiting = timer(queueTimeoutMs, scheduler).subscribe(() => {
            settled = true;
            refuse(
              new ClientError(
                'not_connected',
                `${limits.what} waited ${queueTimeoutMs} ms for a connection (queueTimeoutMs)`,
              ),
            );
          });
        }
      } catch (error) {
        settled = true;
        refuse(error as ClientError);
      }
      return () => {
        waiting?.unsubscribe();
        deadline?.unsubscribe();
        answers.unsubscribe();
        const sentOn = this.wire.untrack(id);
        if (!settled && sentOn !== undefined) limits.onCancel?.(id);
      };
    });
  }
}
