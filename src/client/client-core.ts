/**
 * The connection half of the client: connect, reconnect with backoff and resume, heartbeats,
 * frames in and out. Browser-safe: it imports rxjs, io-ts and the protocol only, and takes its
 * WebSocket constructor from the options or the global scope.
 */
import * as E from 'fp-ts/Either';
import { BehaviorSubject, interval, Observable, type SchedulerLike, Subject, Subscription } from 'rxjs';
import { webSocket, type WebSocketSubject } from 'rxjs/webSocket';
import { ClientError, ConnectionClosedError, type LLMWSError } from '../errors';
import { retryWithBackoff } from '../operators/retry-with-backoff';
import { requestIdOf, serverErrorOf } from '../operators/reply-of';
import type { ServerMessage, ServerMessageOf, SessionStatus } from '../protocol/codecs';
import { decodeServerMessage } from '../protocol/decode-server-message';
import { encodeMessage } from '../protocol/encode';
import { type CloseInfo, connectionError } from './connection-error';

/** Close code 1009 (a frame over the server's maxPayload); not CloseCode, whose module carries io-ts codecs into the client. */
export const MESSAGE_TOO_BIG = 1009;
import {
  type ClientStats,
  type ConnectionStatus,
  type DisconnectInfo,
  type ReconnectAttempt,
  type SessionCredentials,
  type WebSocketConstructor,
  type WSClientOptions,
} from './options';
import { type OutgoingFrame, Outbox } from './outbox';
import { TrafficStats } from './traffic-stats';
import { type ResolvedOptions, resolveClientOptions } from './resolve-options';
import { silenceTimeout } from './silence-timeout';

/** Error codes that only refuse one frame (rate_limited may end a reply too, so it is not one). */
const FRAME_REFUSALS: ReadonlySet<string> = new Set([
  'invalid_json',
  'invalid_message',
  'unknown_type',
  'unsupported_frame',
  'busy',
  'queue_full',
  'unknown_tool_call',
  'message_too_long',
]);

/** How a socket that failed without a close frame closed (RFC 6455 7.1.5). */
const ABNORMAL_CLOSURE: CloseInfo = { code: 1006, reason: '' };

/**
 * Connection state and plumbing shared by {@link ReactiveClient}'s requests. Not exported from
 * the package: use {@link ReactiveClient} or {@link WSClient}.
 */
export abstract class ClientCore {
  protected readonly options: ResolvedOptions;
  protected readonly scheduler: SchedulerLike;
  protected readonly status = new BehaviorSubject<ConnectionStatus>('disconnected');
  protected readonly incoming = new Subject<ServerMessage>();
  protected readonly errors = new Subject<LLMWSError>();
  protected readonly reconnecting = new Subject<ReconnectAttempt>();
  protected readonly disconnections = new Subject<DisconnectInfo>();
  /** The session's status as last reported; undefined until the server says. */
  protected readonly sessionState = new BehaviorSubject<SessionStatus | undefined>(undefined);
  protected readonly outbox: Outbox;
  private socket: WebSocketSubject<string> | undefined;
  /** Set from `connect()` until the client stops for good: a connection is open or being (re)made. */
  private connection: Subscription | undefined;
  private greeted: Promise<void> | undefined;
  /** Rejects `greeted` while it is pending: a `disconnect()` before the greeting settles `connect()` too. */
  private refuseGreeting: ((error: unknown) => void) | undefined;
  /** Whether `connect()` was ever called, for the `not_connected` message. */
  private started = false;
  /** Counts greeted connections; a request remembers the one it was written to. */
  private epoch = 0;
  /** The largest frame written on the current connection (in UTF-16 units): what a 1009 close blames. */
  private largestSent: { readonly length: number; readonly requestId: string | undefined } | undefined;
  /** The session to resume after a reconnect, and how far its stream has been read. */
  private resumable: { readonly sessionId: string; readonly resumeToken: string } | undefined;
  private lastSeq = 0;
  /** What the server's `closing` message asked the next reconnect to wait, in ms. */
  private retryAfterMs = 0;
  private lastPing: { id: string; at: number } | undefined;
  /** Set while `disconnect()` closes the socket: its end is no loss. */
  private closingNormally = false;
  private readonly idPrefix: string;
  private idCounter = 0;
  private readonly stats = new TrafficStats();
  /** When each request's frame went out (by id), until its first answer: for `lastRoundTripMs`. */
  private readonly sentAt = new Map<string, number>();
  /**
   * Whether the server orders the messages sent while a reply runs itself (its greeting says
   * `concurrentMessages` `queue` or `interrupt`): they go at once. Otherwise the client holds them
   * until the running reply ends, as a server that refuses them with `busy` needs.
   */
  private serverOrders = false;

  constructor(options: WSClientOptions) {
    this.options = resolveClientOptions(options);
    this.scheduler = this.options.scheduler;
    this.idPrefix = this.options.random().toString(36).slice(2, 8);
    this.outbox = new Outbox(this.options.maxQueueSize);
    // Joining a session from the start: the first connection resumes it from seq 0.
    this.resumable = options.session && {
      sessionId: options.session.sessionId,
      resumeToken: options.session.resumeToken,
    };
  }

  /** The session id the server gave the current connection. */
  get sessionId(): string | undefined {
    return this.resumable?.sessionId;
  }

  /**
   * The current session's id and resume token: hand them to another client (another tab, with
   * `share: true`) to open the same conversation there. Undefined before the first greeting.
   */
  get session(): SessionCredentials | undefined {
    return this.resumable;
  }

  /**
   * Connects, reconnecting with backoff on loss. Resolves once the server has greeted the
   * client; rejects with a {@link ConnectionClosedError} if every attempt fails (never an
   * unhandled rejection: the error is on `errors$` too). Calling it while connected or
   * connecting returns the same promise.
   */
  connect(): Promise<void> {
    if (this.greeted) return this.greeted;
    const WebSocketCtor = this.options.WebSocketCtor ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!WebSocketCtor) {
      return Promise.reject(
        new TypeError(
          "no WebSocket implementation: pass WebSocketCtor (on Node 20, import WSClient from 'llm-ws', which uses the ws package)",
        ),
      );
    }
    this.started = true;
    this.status.next('connecting');
    let greet!: () => void;
    let refuse!: (error: unknown) => void;
    // Kept in a local: a socket that fails synchronously shuts down (clearing `greeted`) inside subscribe().
    const greeted = new Promise<void>((resolve, reject) => {
      greet = resolve;
      refuse = reject;
    });
    this.greeted = greeted;
    this.refuseGreeting = refuse;
    // The promise may be ignored by callers who use status$ instead: never an unhandled rejection.
    greeted.catch(() => undefined);
    const connection = new Subscription();
    // Assigned before subscribing: a socket that fails at once shuts down a connection already known.
    this.connection = connection;
    // Each failed attempt is reported at once (not only when the last one gives up), so an app
    // shows "cannot reach the server" while the client still tries.
    let reported: unknown;
    const reportAttempt = (error: unknown): void => {
      reported = error;
      this.errors.next(error as LLMWSError);
    };
    connection.add(
      this.openConnection(WebSocketCtor, reportAttempt)
        .pipe(
          retryWithBackoff({
            maxAttempts: this.options.reconnectAttempts,
            initialDelayMs: this.options.reconnectDelay,
            maxDelayMs: this.options.maxReconnectDelay,
            jitter: this.options.reconnectJitter,
            random: this.options.random,
            scheduler: this.scheduler,
            shouldRetry: (error) => !(error instanceof ConnectionClosedError && error.code === 'connection_refused'),
            adjustDelay: (delayMs) => this.honourRetryAfter(delayMs),
            onRetry: ({ attempt, delayMs }) => {
              this.stats.reconnects++;
              this.status.next('reconnecting');
              this.reconnecting.next({ attempt, delayMs });
            },
            giveUp: (attempts, last) =>
              new ConnectionClosedError(
                'reconnect_failed',
                `gave up after ${attempts} reconnect attempts: ${(last as Error).message}`,
                {
                  closeCode: (last as ConnectionClosedError).closeCode,
                  cause: last,
                },
              ),
          }),
        )
        .subscribe({
          next: () => greet(),
          error: (error: LLMWSError) => {
            if (error !== reported) this.errors.next(error);
            this.shutDown(error);
            refuse(error);
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
    if (!this.connection) return;
    // A normal closure (1000): closing without a code would tell the server 1005 (no status). A socket
    // whose close event comes at once (a fake) must not count as a lost connection to reconnect.
    this.closingNormally = true;
    try {
      this.socket?.error({ code: 1000, reason: 'client disconnect' });
    } finally {
      this.closingNormally = false;
    }
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
  private openConnection(WebSocketCtor: WebSocketConstructor, report: (error: unknown) => void): Observable<void> {
    // Built afresh on each (re)subscription, as defer() would, without the weight defer() adds to a browser bundle.
    const attempt = (): Observable<void> => {
      let close: CloseInfo | undefined;
      // The resume this connection asked for, and the fresh session to fall back on if it fails.
      let resumeId: string | undefined;
      let fallback: { sessionId: string; resumeToken: string } | undefined;
      const socket: WebSocketSubject<string> = webSocket<string>({
        url: this.options.url,
        protocol: this.options.protocols,
        WebSocketCtor: WebSocketCtor,
        // Raw text out of the subject: decoding happens after it, where a bad frame cannot error it.
        deserializer: (event) => event.data as string,
        serializer: (text) => text,
        openObserver: {
          next: () => {
            if (!this.resumable) return;
            resumeId = this.nextId();
            // The first frame on the connection, ahead of anything queued.
            const data = { ...this.resumable, lastSeq: this.lastSeq, ...(this.options.share ? { share: true } : {}) };
            this.count(encodeMessage({ type: 'resume', id: resumeId, data }), (text) => socket.next(text));
          },
        },
        closeObserver: { next: (event) => (close = { code: event.code, reason: event.reason }) },
      });
      return new Observable<void>((subscriber) => {
        let greetedEpoch: number | undefined;
        const lost = (error: ConnectionClosedError): void => {
          report(error);
          subscriber.error(error);
        };
        const greet = (): void => {
          greetedEpoch = this.onGreeting(socket);
          subscriber.next();
        };
        const frames = socket
          .pipe(silenceTimeout(this.scheduler, this.options.timeout, this.options.heartbeatInterval))
          .subscribe({
            next: (raw) => {
              const message = this.receive(raw);
              if (message?.type === 'closing') this.retryAfterMs = message.data.retryAfterMs;
              if (message?.type === 'session') {
                const { sessionId, resumeToken, resumed, requestId, lastSeq } = message.data;
                if (resumed && greetedEpoch !== undefined && requestId !== undefined && requestId !== resumeId) {
                  // An opened conversation: the connection is on it now, its stream read from `lastSeq` on.
                  this.resumable = { sessionId, resumeToken };
                  this.lastSeq = lastSeq ?? 0;
                  return;
                }
                if (resumed) return greet();
                if (resumeId) {
                  fallback = { sessionId, resumeToken };
                  return;
                }
                this.adopt({ sessionId, resumeToken });
                return greet();
              }
              if (
                message?.type === 'error' &&
                resumeId !== undefined &&
                message.data.requestId === resumeId &&
                fallback
              ) {
                // The old session is gone (or the replay cannot be whole): what was asked on it is lost.
                this.outbox.failUnanswered(this.epoch + 1, serverErrorOf(message));
                this.adopt(fallback);
                greet();
              }
            },
            error: (error: unknown) => {
              if (this.closingNormally) return;
              const failure = connectionError(error, close);
              // rxjs errors on the error event, ahead of the close event: a socket that fails without a
              // close frame closed with 1006 (RFC 6455 7.1.5), which is what the close event will say.
              close ??= ABNORMAL_CLOSURE;
              lost(failure);
            },
            complete: () => this.closingNormally || lost(connectionError(undefined, close)),
          });
        const { heartbeatInterval } = this.options;
        const pings =
          heartbeatInterval > 0 ? interval(heartbeatInterval, this.scheduler).subscribe(() => this.ping()) : undefined;
        return () => {
          pings?.unsubscribe();
          frames.unsubscribe();
          if (this.socket === socket) this.socket = undefined;
          if (greetedEpoch !== undefined) this.onConnectionLost(close);
        };
      });
    };
    return new Observable<void>((subscriber) => attempt().subscribe(subscriber));
  }

  /** Starts reading a new session's stream from the beginning. */
  private adopt(session: { sessionId: string; resumeToken: string }): void {
    this.resumable = session;
    this.lastSeq = 0;
  }

  private onGreeting(socket: WebSocketSubject<string>): number {
    this.socket = socket;
    this.stats.connectedSince = new Date(this.scheduler.now());
    const epoch = ++this.epoch;
    this.largestSent = undefined;
    this.status.next('connected');
    // Requests sent on a lost connection go again (the server ignores a user_message it already has),
    // then what waited in the queue.
    for (const frame of this.outbox.unanswered(epoch)) this.transmit(frame);
    this.releaseQueue();
    return epoch;
  }

  /** An open connection ended. Its requests stay pending: a resume may still answer them. */
  private onConnectionLost(close: CloseInfo | undefined): void {
    this.stats.connectedSince = null;
    // 1009 blames the largest frame sent on the connection: a request's is failed, not sent again
    // on the next one (where it would be refused again, forever). Another frame's (a tool result's)
    // is the human-in-the-loop part's to answer.
    const largest = this.largestSent;
    this.largestSent = undefined;
    if (close?.code === MESSAGE_TOO_BIG && largest?.requestId !== undefined) {
      this.outbox.fail(
        largest.requestId,
        new ClientError(
          'message_too_large',
          `the message (a frame of ${largest.length} characters) was larger than the server takes in one frame: it closed the connection with 1009`,
        ),
      );
    }
    const willReconnect = this.connection !== undefined && !this.connection.closed;
    this.disconnections.next({ code: close?.code, reason: close?.reason ?? '', willReconnect });
  }

  /** The delay before the next reconnect, no shorter than what the server's `closing` asked for (jittered). */
  private honourRetryAfter(delayMs: number): number {
    const floor = this.retryAfterMs;
    this.retryAfterMs = 0;
    if (floor <= 0) return delayMs;
    // Spread the herd over [floor, floor * (1 + jitter)], so a restarted server is not hit at once.
    return Math.max(delayMs, Math.round(floor * (1 + this.options.reconnectJitter * this.options.random())));
  }

  /** Stops for good: fails everything pending, empties the queue, closes the socket. */
  private shutDown(reason: LLMWSError): void {
    const connection = this.connection;
    this.connection = undefined;
    this.greeted = undefined;
    this.refuseGreeting?.(reason);
    this.refuseGreeting = undefined;
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
      this.stats.lastRoundTripMs = this.scheduler.now() - this.lastPing.at;
    }
    const answered = requestIdOf(message);
    const sentAt = answered === undefined ? undefined : this.sentAt.get(answered);
    if (sentAt !== undefined) {
      this.sentAt.delete(answered as string);
      this.stats.lastRoundTripMs = this.scheduler.now() - sentAt;
    }
    if (message.type === 'session') {
      const mode = message.data.concurrentMessages;
      this.serverOrders = mode === 'queue' || mode === 'interrupt';
    }
    if (message.type === 'status' && message.data.status !== this.sessionState.value)
      this.sessionState.next(message.data.status);
    if (message.type === 'error' && !this.othersRefusal(message)) this.errors.next(serverErrorOf(message));
    this.incoming.next(message);
    return message;
  }

  /**
   * A refusal of a frame another connection of a shared session sent (a server older than the
   * one that answers the sender alone put it in the stream): that tab's business, not this one's.
   */
  private othersRefusal(message: ServerMessageOf<'error'>): boolean {
    const { requestId, code } = message.data;
    // Without a seq it was meant for this connection; with one, only codes that refuse a frame are someone else's.
    const refusal = message.seq === undefined || FRAME_REFUSALS.has(code);
    return (
      refusal && requestId !== undefined && !requestId.startsWith(`${this.idPrefix}-`) && !this.outbox.has(requestId)
    );
  }

  /** Sends what the queue lets go now (see {@link Outbox.release}). */
  private releaseQueue(): void {
    if (this.socket) for (const frame of this.outbox.release(!this.serverOrders)) this.transmit(frame);
  }

  /** Stops tracking a request that settled or was left, and lets the next queued message go. */
  protected untrack(requestId: string): number | undefined {
    this.sentAt.delete(requestId);
    const sentOn = this.outbox.untrack(requestId);
    this.releaseQueue();
    return sentOn;
  }

  /**
   * Sends now when connected, queues (bounded) while the client connects or reconnects, and
   * queues a user_message behind one still queued or whose reply runs. Throws {@link ClientError} `not_connected`
   * when there is no connection and none under way, and `queue_full` past `maxQueueSize`.
   * Returns `sent`, `queued` (waiting for a connection) or `held` (waiting behind a reply).
   */
  protected write(frame: OutgoingFrame): 'sent' | 'queued' | 'held' {
    if (this.socket) {
      // A server that refuses a message while a reply runs gets one at a time: a message sent
      // while one runs waits here for its end (as it would while connecting), never refused `busy`.
      if (frame.oneAtATime && !this.serverOrders && (this.outbox.holdsOneAtATime() || this.outbox.replyRunning())) {
        this.outbox.enqueue(frame);
        return 'held';
      }
      this.transmit(frame);
      return 'sent';
    }
    if (!this.connection) {
      throw new ClientError(
        'not_connected',
        !this.started
          ? 'not connected: call connect() first'
          : 'not connected: the client was disconnected or gave up reconnecting; call connect() again',
      );
    }
    this.outbox.enqueue(frame);
    return 'queued';
  }

  private transmit(frame: OutgoingFrame): void {
    const socket = this.socket;
    if (!socket) return;
    this.count(frame.text, (text) => socket.next(text));
    if (frame.text.length > (this.largestSent?.length ?? 0))
      this.largestSent = { length: frame.text.length, requestId: frame.requestId };
    if (frame.requestId !== undefined && this.outbox.has(frame.requestId))
      this.sentAt.set(frame.requestId, this.scheduler.now());
    this.outbox.written(frame.requestId, this.epoch);
  }

  private count(text: string, send: (text: string) => void): void {
    send(text);
    this.stats.sent(text);
  }

  private ping(): void {
    if (!this.socket) return;
    const id = this.nextId();
    this.lastPing = { id, at: this.scheduler.now() };
    // The ping acknowledges what this client has read, so the server can drop it from its replay buffer.
    this.write({ text: encodeMessage({ type: 'ping', id, data: { lastSeq: this.lastSeq } }), requestId: undefined });
  }

  protected nextId(): string {
    return `${this.idPrefix}-${(this.idCounter++).toString(36)}`;
  }
}
