/**
 * The RxJS client. Browser-safe: it imports rxjs, io-ts and the protocol only, and takes its
 * WebSocket constructor from the options or the global scope.
 */
import * as E from 'fp-ts/Either';
import {
  BehaviorSubject,
  defer,
  distinctUntilChanged,
  filter,
  firstValueFrom,
  interval,
  lastValueFrom,
  map,
  Observable,
  type OperatorFunction,
  Subject,
  type Subscription,
  throwError,
  timeout,
} from 'rxjs';
import { webSocket, type WebSocketSubject } from 'rxjs/webSocket';
import { ClientError, ConnectionClosedError, type LLMWSError } from '../errors';
import { retryWithBackoff } from '../operators/retry-with-backoff';
import { type OutgoingFrame, Outbox } from './outbox';
import type {
  ClientMessage,
  CompleteMessage,
  ControlType,
  HistoryMessage,
  ServerMessage,
  ServerMessageOf,
  ServerMessageType,
  SessionStatus,
  UserMessageOptions,
} from '../protocol/codecs';
import { decodeServerMessage, encodeMessage } from '../protocol/decode-server-message';
import {
  type ClientStats,
  type ConnectionStatus,
  DEFAULT_CLIENT_HEARTBEAT_INTERVAL_MS,
  DEFAULT_MAX_QUEUE_SIZE,
  DEFAULT_MAX_RECONNECT_DELAY_MS,
  DEFAULT_RECONNECT_ATTEMPTS,
  DEFAULT_RECONNECT_DELAY_MS,
  DEFAULT_RECONNECT_JITTER,
  DEFAULT_TIMEOUT_MS,
  type DisconnectInfo,
  type ReconnectAttempt,
  type ReplyEvent,
  type WebSocketConstructor,
  type WSClientOptions,
} from './options';
import { replyOf, requestIdOf, serverErrorOf } from '../operators/reply-of';
import { TrafficStats } from './traffic-stats';

/** Close codes after which reconnecting cannot help: the server refused this client. */
const REFUSING_CLOSE_CODES = new Set([1008, 4400, 4401, 4403]);

/** What `send()` and `sendMessage()` resolve with: the `llm_complete` data. */
export type CompleteData = CompleteMessage['data'];

/**
 * The core of the client: typed observables of everything the server says, `send()` as a cold
 * Observable per reply, reconnects with backoff, jitter and resume, protocol heartbeats, and
 * Promise-returning requests. {@link WSClient} adds the callback API on top.
 *
 * ```ts
 * const client = new WSClient({ url: 'ws://localhost:3000/ws' });
 * await client.connect();
 * client.send('Hello').subscribe((event) => console.log(event));
 * ```
 */
export class ReactiveClient {
  /** The connection: connecting, connected, reconnecting, disconnected. Replays the current value. */
  readonly status$: Observable<ConnectionStatus>;
  /** Every message the server sends, decoded. */
  readonly messages$: Observable<ServerMessage>;
  /** Every `llm_chunk`'s data. */
  readonly chunks$: Observable<ServerMessageOf<'llm_chunk'>['data']>;
  /** Every `llm_complete`'s data. */
  readonly completions$: Observable<CompleteData>;
  /** Every `tool_call`'s data. */
  readonly toolCalls$: Observable<ServerMessageOf<'tool_call'>['data']>;
  /** Every `tool_result`'s data. */
  readonly toolResults$: Observable<ServerMessageOf<'tool_result'>['data']>;
  /** The session's status as the server reports it: idle, thinking, streaming, calling_tool, paused. */
  readonly sessionStatus$: Observable<SessionStatus>;
  /** Server `error` messages, frames that failed to decode, and connection failures. Never thrown. */
  readonly errors$: Observable<LLMWSError>;
  /** Each reconnect about to be attempted. */
  readonly reconnecting$: Observable<ReconnectAttempt>;
  /** Each connection that ended. */
  readonly disconnected$: Observable<DisconnectInfo>;

  private readonly options: Required<Omit<WSClientOptions, 'protocols' | 'WebSocketCtor'>> &
    Pick<WSClientOptions, 'protocols' | 'WebSocketCtor'>;
  private readonly status = new BehaviorSubject<ConnectionStatus>('disconnected');
  private readonly incoming = new Subject<ServerMessage>();
  private readonly errors = new Subject<LLMWSError>();
  private readonly reconnecting = new Subject<ReconnectAttempt>();
  private readonly disconnections = new Subject<DisconnectInfo>();
  private readonly outbox: Outbox;
  private socket: WebSocketSubject<string> | undefined;
  private connection: Subscription | undefined;
  private greeted: Promise<void> | undefined;
  /** Counts greeted connections; a request remembers the one it was written to. */
  private epoch = 0;
  /** The session to resume after a reconnect, and how far its stream has been read. */
  private resumable: { readonly sessionId: string; readonly resumeToken: string } | undefined;
  private lastSeq = 0;
  /** What the server's `closing` message asked the next reconnect to wait, in ms. */
  private retryAfterMs = 0;
  private lastPing: { id: string; at: number } | undefined;
  private readonly idPrefix = Math.random().toString(36).slice(2, 8);
  private idCounter = 0;
  private readonly stats = new TrafficStats();

  constructor(options: WSClientOptions) {
    this.options = {
      reconnectAttempts: DEFAULT_RECONNECT_ATTEMPTS,
      reconnectDelay: DEFAULT_RECONNECT_DELAY_MS,
      maxReconnectDelay: DEFAULT_MAX_RECONNECT_DELAY_MS,
      reconnectJitter: DEFAULT_RECONNECT_JITTER,
      heartbeatInterval: DEFAULT_CLIENT_HEARTBEAT_INTERVAL_MS,
      timeout: DEFAULT_TIMEOUT_MS,
      maxQueueSize: DEFAULT_MAX_QUEUE_SIZE,
      ...options,
    };
    this.outbox = new Outbox(this.options.maxQueueSize);
    this.status$ = this.status.pipe(distinctUntilChanged());
    this.messages$ = this.incoming.asObservable();
    this.chunks$ = this.dataOf('llm_chunk');
    this.completions$ = this.dataOf('llm_complete');
    this.toolCalls$ = this.dataOf('tool_call');
    this.toolResults$ = this.dataOf('tool_result');
    this.sessionStatus$ = this.dataOf('status').pipe(map((data) => data.status));
    this.errors$ = this.errors.asObservable();
    this.reconnecting$ = this.reconnecting.asObservable();
    this.disconnected$ = this.disconnections.asObservable();
  }

  /** The session id the server gave the current connection. */
  get sessionId(): string | undefined {
    return this.resumable?.sessionId;
  }

  // -------------------------------------------------------------------------------------------
  // Connection

  /**
   * Connects, reconnecting with backoff on loss. Resolves once the server has greeted the
   * client; rejects with a {@link ConnectionClosedError} if every attempt fails. Calling it
   * while connected or connecting returns the same promise.
   */
  connect(): Promise<void> {
    if (this.greeted) return this.greeted;
    const WebSocketCtor = this.options.WebSocketCtor ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!WebSocketCtor) {
      return Promise.reject(
        new TypeError("no WebSocket implementation: pass WebSocketCtor (on Node 20, import WSClient from 'llm-ws', which uses the ws package)"),
      );
    }
    this.status.next('connecting');
    let greet!: () => void;
    let refuse!: (error: unknown) => void;
    this.greeted = new Promise<void>((resolve, reject) => {
      greet = resolve;
      refuse = reject;
    });
    // The promise may be ignored by callers who use status$ instead: never an unhandled rejection.
    this.greeted.catch(() => undefined);
    this.connection = this.openConnection(WebSocketCtor)
      .pipe(
        retryWithBackoff({
          maxAttempts: this.options.reconnectAttempts,
          initialDelayMs: this.options.reconnectDelay,
          maxDelayMs: this.options.maxReconnectDelay,
          jitter: this.options.reconnectJitter,
          shouldRetry: (error) => !(error instanceof ConnectionClosedError && error.code === 'connection_refused'),
          adjustDelay: (delayMs) => this.honourRetryAfter(delayMs),
          onRetry: ({ attempt, delayMs }) => {
            this.stats.reconnects++;
            this.status.next('reconnecting');
            this.reconnecting.next({ attempt, delayMs });
          },
          giveUp: (attempts, last) =>
            new ConnectionClosedError('reconnect_failed', `gave up after ${attempts} reconnect attempts: ${(last as Error).message}`, {
              closeCode: (last as ConnectionClosedError).closeCode,
              cause: last,
            }),
        }),
      )
      .subscribe({
        next: () => greet(),
        error: (error: LLMWSError) => {
          this.errors.next(error);
          this.shutDown(error);
          refuse(error);
        },
      });
    return this.greeted;
  }

  /**
   * Closes the connection and stops reconnecting. Requests in flight fail with `disconnected`.
   * The session is forgotten: the next `connect()` starts a new conversation.
   */
  disconnect(): void {
    if (!this.connection) return;
    this.shutDown(new ConnectionClosedError('disconnected', 'disconnect() was called', { retryable: false }));
    this.resumable = undefined;
    this.lastSeq = 0;
  }

  /** Whether the server has greeted the current connection. */
  isConnected(): boolean {
    return this.status.value === 'connected';
  }

  /** Traffic counters and timings. */
  getStats(): ClientStats {
    return this.stats.snapshot();
  }

  /**
   * One connection attempt: emits once the server greets the client (after a resume, once the
   * resume is settled), errors when the connection ends (even cleanly: a closed connection is a
   * loss to recover from).
   */
  private openConnection(WebSocketCtor: WebSocketConstructor): Observable<void> {
    return defer(() => {
      let close: { code: number; reason: string } | undefined;
      // The resume this connection asked for, and the fresh session to fall back on if it fails.
      let resumeId: string | undefined;
      let fallback: { sessionId: string; resumeToken: string } | undefined;
      const socket: WebSocketSubject<string> = webSocket<string>({
        url: this.options.url,
        protocol: this.options.protocols,
        WebSocketCtor: WebSocketCtor as never,
        // Raw text out of the subject: decoding happens after it, where a bad frame cannot error it.
        deserializer: (event) => event.data as string,
        serializer: (text) => text,
        openObserver: {
          next: () => {
            if (!this.resumable) return;
            resumeId = this.nextId();
            // The first frame on the connection, ahead of anything queued.
            this.count(encodeMessage({ type: 'resume', id: resumeId, data: { ...this.resumable, lastSeq: this.lastSeq } }), (text) => socket.next(text));
          },
        },
        closeObserver: { next: (event) => (close = { code: event.code, reason: event.reason }) },
      });
      const { timeout: slack, heartbeatInterval } = this.options;
      return new Observable<void>((subscriber) => {
        let greetedEpoch: number | undefined;
        const greet = (): void => {
          greetedEpoch = this.onGreeting(socket);
          subscriber.next();
        };
        const frames = socket
          .pipe(
            timeout({
              first: slack,
              each: heartbeatInterval + slack,
              with: (info) =>
                throwError(() =>
                  info.seen === 0
                    ? new ConnectionClosedError('connect_timeout', `no greeting from the server within ${slack} ms`)
                    : new ConnectionClosedError('heartbeat_timeout', `the server was silent for ${heartbeatInterval + slack} ms`),
                ),
            }),
          )
          .subscribe({
            next: (raw) => {
              const message = this.receive(raw);
              if (message?.type === 'closing') this.retryAfterMs = message.data.retryAfterMs;
              if (message?.type === 'session') {
                const { sessionId, resumeToken, resumed } = message.data;
                if (resumed) return greet();
                if (resumeId) {
                  fallback = { sessionId, resumeToken };
                  return;
                }
                this.adopt({ sessionId, resumeToken });
                return greet();
              }
              if (message?.type === 'error' && resumeId !== undefined && message.data.requestId === resumeId && fallback) {
                // The old session is gone (or the replay cannot be whole): what was asked on it is lost.
                this.outbox.failUnanswered(this.epoch + 1, serverErrorOf(message));
                this.adopt(fallback);
                greet();
              }
            },
            error: (error: unknown) => subscriber.error(this.connectionError(error, close)),
            complete: () => subscriber.error(this.connectionError(undefined, close)),
          });
        const pings = interval(heartbeatInterval).subscribe(() => this.ping());
        return () => {
          pings.unsubscribe();
          frames.unsubscribe();
          if (this.socket === socket) this.socket = undefined;
          if (greetedEpoch !== undefined) this.onConnectionLost(close);
        };
      });
    });
  }

  /** Starts reading a new session's stream from the beginning. */
  private adopt(session: { sessionId: string; resumeToken: string }): void {
    this.resumable = session;
    this.lastSeq = 0;
  }

  private onGreeting(socket: WebSocketSubject<string>): number {
    this.socket = socket;
    this.stats.connectedSince = new Date();
    const epoch = ++this.epoch;
    this.status.next('connected');
    // Requests sent on a lost connection go again (the server ignores a user_message it already has),
    // then what waited in the queue.
    for (const frame of [...this.outbox.unanswered(epoch), ...this.outbox.takeQueue()]) this.transmit(frame);
    return epoch;
  }

  /** An open connection ended. Its requests stay pending: a resume may still answer them. */
  private onConnectionLost(close: { code: number; reason: string } | undefined): void {
    this.stats.connectedSince = null;
    const willReconnect = this.connection !== undefined && !this.connection.closed;
    this.disconnections.next({ code: close?.code, reason: close?.reason ?? '', willReconnect });
  }

  /** The delay before the next reconnect, no shorter than what the server's `closing` asked for (jittered). */
  private honourRetryAfter(delayMs: number): number {
    const floor = this.retryAfterMs;
    this.retryAfterMs = 0;
    if (floor <= 0) return delayMs;
    // Spread the herd over [floor, floor * (1 + jitter)], so a restarted server is not hit at once.
    return Math.max(delayMs, Math.round(floor * (1 + this.options.reconnectJitter * Math.random())));
  }

  private connectionError(error: unknown, close: { code: number; reason: string } | undefined): ConnectionClosedError {
    if (error instanceof ConnectionClosedError) return error;
    const detail = (error as { message?: unknown } | undefined)?.message;
    const reason = close
      ? `closed with ${close.code}${close.reason ? `: ${close.reason}` : ''}`
      : `the socket failed${typeof detail === 'string' && detail ? `: ${detail}` : ''}`;
    // Node's ws reports a refused upgrade as "Unexpected server response: 401" (browsers cannot see it).
    const refusedUpgrade = typeof detail === 'string' && /Unexpected server response: (401|403)\b/.test(detail);
    if ((close && REFUSING_CLOSE_CODES.has(close.code)) || refusedUpgrade) {
      return new ConnectionClosedError('connection_refused', `the server refused the connection (${reason})`, { closeCode: close?.code });
    }
    return new ConnectionClosedError('connection_lost', `connection lost (${reason})`, { closeCode: close?.code, cause: error });
  }

  /** Stops for good: fails everything pending, empties the queue, closes the socket. */
  private shutDown(reason: LLMWSError): void {
    const connection = this.connection;
    this.connection = undefined;
    this.greeted = undefined;
    this.outbox.failAll(reason);
    connection?.unsubscribe();
    this.socket = undefined;
    this.stats.connectedSince = null;
    this.status.next('disconnected');
  }

  // -------------------------------------------------------------------------------------------
  // Frames in and out

  private receive(raw: string): ServerMessage | undefined {
    this.stats.received(raw);
    const decoded = decodeServerMessage(raw);
    if (E.isLeft(decoded)) {
      this.errors.next(decoded.left);
      return undefined;
    }
    const message = decoded.right;
    if (message.seq !== undefined) {
      // Seen already (a resume replays from the last seq this client read): each message once.
      if (message.seq <= this.lastSeq) return undefined;
      this.lastSeq = message.seq;
    }
    if (message.type === 'pong' && message.data.requestId === this.lastPing?.id) {
      this.stats.lastRoundTripMs = Date.now() - this.lastPing.at;
    }
    if (message.type === 'error') this.errors.next(serverErrorOf(message));
    this.incoming.next(message);
    return message;
  }

  /** Sends now when connected, else queues (bounded). Throws {@link ClientError} `queue_full`. */
  private write(frame: OutgoingFrame): void {
    if (this.socket) this.transmit(frame);
    else this.outbox.enqueue(frame);
  }

  private transmit(frame: OutgoingFrame): void {
    const socket = this.socket;
    if (!socket) return;
    this.count(frame.text, (text) => socket.next(text));
    this.outbox.written(frame.requestId, this.epoch);
  }

  private count(text: string, send: (text: string) => void): void {
    send(text);
    this.stats.sent(text);
  }

  private ping(): void {
    if (!this.socket) return;
    const id = this.nextId();
    this.lastPing = { id, at: Date.now() };
    // The ping acknowledges what this client has read, so the server can drop it from its replay buffer.
    this.write({ text: encodeMessage({ type: 'ping', id, data: { lastSeq: this.lastSeq } }), requestId: undefined });
  }

  private nextId(): string {
    return `${this.idPrefix}-${(this.idCounter++).toString(36)}`;
  }

  private dataOf<K extends ServerMessageType>(type: K): Observable<ServerMessageOf<K>['data']> {
    return this.incoming.pipe(
      filter((message): message is ServerMessageOf<K> => message.type === type),
      map((message) => message.data as ServerMessageOf<K>['data']),
    );
  }

  // -------------------------------------------------------------------------------------------
  // Requests

  /**
   * Sends `frame` and mirrors the server's messages carrying its id, until `settle` says the
   * exchange is over. Fails if the connection drops after the frame went out; unsubscribing
   * early calls `onCancel` (or drops the frame if it is still queued).
   */
  private exchange<T>(
    build: (id: string) => ClientMessage,
    settle: OperatorFunction<ServerMessage, T>,
    onCancel?: (id: string) => void,
  ): Observable<T> {
    return new Observable<T>((subscriber) => {
      const id = this.nextId();
      const text = encodeMessage(build(id));
      let settled = false;
      const answers = this.incoming.pipe(filter((message) => requestIdOf(message) === id), settle).subscribe({
        next: (value) => subscriber.next(value),
        error: (error: unknown) => {
          settled = true;
          subscriber.error(error);
        },
        complete: () => {
          settled = true;
          subscriber.complete();
        },
      });
      this.outbox.track(id, text, (error) => {
        settled = true;
        subscriber.error(error);
      });
      try {
        this.write({ text, requestId: id });
      } catch (error) {
        settled = true;
        subscriber.error(error);
      }
      return () => {
        answers.unsubscribe();
        const sentOn = this.outbox.untrack(id);
        if (!settled && sentOn !== undefined) onCancel?.(id);
      };
    });
  }

  /**
   * Sends a message and returns its reply as a cold Observable: `llm_chunk`, `tool_call` and
   * `tool_result` messages as they come, then the `llm_complete`, then completion. Errors with a
   * {@link ServerError} when the server answers with an error, or a {@link ConnectionClosedError}
   * when the connection drops mid-reply. Unsubscribing before the end aborts the reply on the
   * server (and so the model request). Each subscription sends the message once more.
   */
  send(text: string, options?: UserMessageOptions): Observable<ReplyEvent> {
    return this.exchange<ReplyEvent>(
      (id) => ({ type: 'user_message', id, data: { text, ...(options ? { options } : {}) } }),
      replyOf(),
      (id) => {
        const abort = encodeMessage({ type: 'control', id: this.nextId(), data: { type: 'abort', requestId: id } });
        try {
          this.write({ text: abort, requestId: undefined });
        } catch {
          // The queue is full: the reply runs to its end on the server, unseen. Nothing else to do.
        }
      },
    );
  }

  /** Sends a message; resolves with the `llm_complete` data, rejects with an error carrying a `code`. */
  sendMessage(text: string, options?: UserMessageOptions): Promise<CompleteData> {
    return lastValueFrom(this.send(text, options)).then((event) => (event as CompleteMessage).data);
  }

  /**
   * Sends a control and resolves with the server's answer (a `status` or `history` message).
   * Rejects with a {@link ServerError} (for example `busy`), or `request_timeout` after `timeout`.
   */
  sendControl(type: ControlType, requestId?: string): Promise<ServerMessageOf<'status'> | ServerMessageOf<'history'>> {
    const answer$ = this.exchange(
      (id) => ({ type: 'control', id, data: { type, ...(requestId ? { requestId } : {}) } }),
      (messages$) =>
        messages$.pipe(
          map((message) => {
            if (message.type === 'error') throw serverErrorOf(message);
            return message as ServerMessageOf<'status'> | ServerMessageOf<'history'>;
          }),
        ),
    );
    return firstValueFrom(
      answer$.pipe(
        timeout({
          first: this.options.timeout,
          with: () => throwError(() => new ClientError('request_timeout', `no answer to ${type} within ${this.options.timeout} ms`)),
        }),
      ),
    );
  }

  /** Stops the running reply (or the one named). Resolves once the server has acknowledged. */
  async abort(requestId?: string): Promise<void> {
    await this.sendControl('abort', requestId);
  }

  /** Empties the conversation on the server. */
  async clearHistory(): Promise<void> {
    await this.sendControl('clear_history');
  }

  /** The conversation so far, without the system prompt. */
  async getHistory(): Promise<HistoryMessage[]> {
    const answer = await this.sendControl('get_history');
    return answer.type === 'history' ? answer.data.messages : [];
  }
}
