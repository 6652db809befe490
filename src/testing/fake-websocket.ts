/**
 * A WebSocket with the browser API, driven by the test instead of a network, and a fake server
 * around it: pass `server.WebSocketCtor` to the client and play the server's side, in virtual
 * time if you like. Browser-safe.
 */
import {
  asyncScheduler,
  filter,
  from,
  map,
  merge,
  mergeMap,
  type Observable,
  type ObservableInput,
  type SchedulerLike,
  Subject,
  type Subscription,
  take,
  takeUntil,
} from 'rxjs';
import type { WebSocketConstructor } from '../client/options';
import type { ClientMessage, ServerMessage } from '../protocol/codecs';
import { makeError, makeSession } from './server-messages';

/** A client message of one type. */
export type ClientMessageOf<K extends ClientMessage['type']> = Extract<ClientMessage, { type: K }>;

/** What a {@link FakeWebSocket} tells the fake server it belongs to. */
interface FakeSocketHooks {
  readonly created: (socket: FakeWebSocket) => void;
  readonly sent: (socket: FakeWebSocket, message: ClientMessage) => void;
}

/**
 * One connection. The client's side is the browser WebSocket API (`send`, `close`, `on...`);
 * the server's side is `open`, `accept`, `deliver`, `serverClose` and `fail`, each acting at once
 * (synchronously), so a test decides exactly when.
 */
export class FakeWebSocket {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;

  readyState = FakeWebSocket.CONNECTING;
  binaryType = 'blob';
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string; wasClean: boolean }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  /** Frames the client sent, parsed, oldest first. */
  readonly sent: ClientMessage[] = [];
  private readonly closes = new Subject<void>();
  /** Emits once when the socket closes, from either side. */
  readonly closed$: Observable<void> = this.closes.pipe(take(1));

  constructor(
    readonly url: string,
    readonly protocols?: string | string[],
    private readonly hooks?: FakeSocketHooks,
  ) {
    hooks?.created(this);
  }

  send(data: string): void {
    if (this.readyState !== FakeWebSocket.OPEN) throw new Error('send on a socket that is not open');
    const message = JSON.parse(data) as ClientMessage;
    this.sent.push(message);
    this.hooks?.sent(this, message);
  }

  close(code = 1000, reason = ''): void {
    if (this.readyState === FakeWebSocket.CLOSED) return;
    this.readyState = FakeWebSocket.CLOSED;
    this.onclose?.({ code, reason, wasClean: true });
    this.closes.next();
  }

  // The server's side.

  /** The connection opens (the server has not greeted the client yet). */
  open(): void {
    this.readyState = FakeWebSocket.OPEN;
    this.onopen?.({});
  }

  /** Opens and greets with a new session, as a server does on every connection. */
  accept(sessionId = 'session-1'): void {
    this.open();
    this.deliver(makeSession(sessionId));
  }

  /** The `resume` the client sent on this socket, if it sent one. */
  get resumeRequest(): ClientMessageOf<'resume'> | undefined {
    return this.sent.find((message): message is ClientMessageOf<'resume'> => message.type === 'resume');
  }

  /** Opens, greets with a fresh session, then confirms the client's resume, as a server that kept the session. */
  acceptResume(lastSeq = 0): void {
    this.accept('fresh-session');
    const resume = this.resumeRequest;
    if (!resume) throw new Error('the client sent no resume');
    const { sessionId, resumeToken } = resume.data;
    this.deliver(makeSession(sessionId, { resumeToken, resumed: true, requestId: resume.id, lastSeq }));
  }

  /** Opens, greets with `sessionId`, then refuses the client's resume with `code`, as a restarted server would. */
  refuseResume(code: 'session_lost' | 'resume_gap', sessionId = 'fresh-session'): void {
    this.accept(sessionId);
    const resume = this.resumeRequest;
    if (!resume) throw new Error('the client sent no resume');
    this.deliver(makeError(code, `${code} (fake)`, { requestId: resume.id }));
  }

  /** The server sends a message (or any raw text, to test what the client makes of a bad frame). */
  deliver(message: ServerMessage | string): void {
    this.onmessage?.({ data: typeof message === 'string' ? message : JSON.stringify(message) });
  }

  /** The server closes the connection (cleanly unless told otherwise). */
  serverClose(code = 1001, reason = 'server stopping', wasClean = true): void {
    this.readyState = FakeWebSocket.CLOSED;
    this.onclose?.({ code, reason, wasClean });
    this.closes.next();
  }

  /** The network fails: an error, then an unclean close. */
  fail(): void {
    this.onerror?.({ message: 'network down' });
    this.readyState = FakeWebSocket.CLOSED;
    this.onclose?.({ code: 1006, reason: '', wasClean: false });
    this.closes.next();
  }

  /** The frames of one type the client sent. */
  sentOf<K extends ClientMessage['type']>(type: K): Array<ClientMessageOf<K>> {
    return this.sent.filter((message): message is ClientMessageOf<K> => message.type === type);
  }

  /** The newest frame of one type the client sent, if any. */
  lastSentOf<K extends ClientMessage['type']>(type: K): ClientMessageOf<K> | undefined {
    return this.sentOf(type).at(-1);
  }
}

/** Settings of {@link createFakeServer}. */
export interface FakeServerOptions {
  /**
   * Opens and greets every new socket by itself (and confirms a `resume`, as a server that kept
   * the session). Off, the test calls `accept()` itself. In virtual time the greeting comes **in
   * the same frame** the client made the socket (frame 0 for a `connect()` at the top of
   * `TestScheduler.run`), once the code that made it has returned: a `send()` made then goes out
   * at that frame too. With the real clock, a macrotask (`setTimeout(0)`) later.
   * @default false
   */
  readonly autoAccept?: boolean;
  /**
   * Fails every new socket (an error, then an unclean 1006 close), as a stopped server or a wrong
   * port does: for tests of what an app shows while the client cannot connect. Like
   * `autoAccept`, in the same frame of virtual time the client made the socket, after its handlers are set.
   * @default false
   */
  readonly unreachable?: boolean;
  /** The scheduler of `autoAccept`'s and `unreachable`'s tick. @default asyncScheduler (virtual inside `TestScheduler.run`) */
  readonly scheduler?: SchedulerLike;
}

/** A frame a client sent, with the socket it came on. */
export interface ReceivedFrame<M extends ClientMessage = ClientMessage> {
  readonly socket: FakeWebSocket;
  readonly message: M;
}

/** A fake llm-ws server: the sockets a client opened through {@link FakeServer.WebSocketCtor}, and what it sent. */
export interface FakeServer {
  /** Pass as the client's `WebSocketCtor`. */
  readonly WebSocketCtor: WebSocketConstructor;
  /** Every socket the client made, oldest first. */
  readonly sockets: readonly FakeWebSocket[];
  /** The newest socket. Throws if the client has made none. */
  readonly latest: FakeWebSocket;
  /** Every frame any client sends, as it is sent (hot). */
  readonly received$: Observable<ReceivedFrame>;
  /**
   * Answers each client message of `type` with the messages `reply` returns (an array, a
   * Promise, or an Observable such as a marble `cold(...)`), delivered on the socket it came on
   * as they come. Like the real server, it stops answering (unsubscribes from what `reply`
   * returned) when the socket closes or the client sends an `abort` control naming the message.
   * Returns the subscription; unsubscribe to stop answering.
   */
  answer<K extends ClientMessage['type']>(
    type: K,
    reply: (message: ClientMessageOf<K>, socket: FakeWebSocket) => ObservableInput<ServerMessage | string>,
  ): Subscription;
}

/** Whether `message` is an `abort` control naming the request `requestId`. */
const abortsRequest = (message: ClientMessage, requestId: string): boolean =>
  message.type === 'control' && message.data.type === 'abort' && message.data.requestId === requestId;

/**
 * A fake server for tests of code built on the client, with no network:
 *
 * ```ts
 * const server = createFakeServer({ autoAccept: true });
 * server.answer('user_message', ({ id }) => cold(...replyMarbles(id, '-a-b|', { a: 'Hel', b: 'lo' })));
 * const client = new WSClient({ url: 'ws://fake/ws', WebSocketCtor: server.WebSocketCtor, heartbeatInterval: 0 });
 * void client.connect();
 * ```
 *
 * The frames, in virtual time (`TestScheduler.run`), of `client.send('hi')` at frame 0:
 *
 * ```text
 * frame              0    1    2    3    4
 * client             connect(), send('hi')
 * fake server        greets (autoAccept: same frame), gets the user_message
 * answer             ^    a    -    b    |          cold(...replyMarbles(id, '-a-b|')), subscribed at 0
 * send()             -    a    -    b    (ec|)      a: 'Hel', b: 'lo', e: the empty isComplete chunk, c: llm_complete
 * ```
 */
export function createFakeServer(options: FakeServerOptions = {}): FakeServer {
  const sockets: FakeWebSocket[] = [];
  const received = new Subject<ReceivedFrame>();
  const scheduler = options.scheduler ?? asyncScheduler;
  let sessions = 0;
  const hooks: FakeSocketHooks = {
    created: (socket) => {
      sockets.push(socket);
      // A tick later: the client sets its handlers right after making the socket.
      if (options.unreachable) {
        scheduler.schedule(() => socket.readyState === FakeWebSocket.CONNECTING && socket.fail());
        return;
      }
      if (options.autoAccept) {
        scheduler.schedule(() => {
          if (socket.readyState !== FakeWebSocket.CONNECTING) return;
          socket.open();
          const resume = socket.resumeRequest;
          socket.deliver(makeSession(`session-${++sessions}`));
          if (resume) {
            const { sessionId, resumeToken, lastSeq } = resume.data;
            socket.deliver(makeSession(sessionId, { resumeToken, resumed: true, requestId: resume.id, lastSeq }));
          }
        });
      }
    },
    sent: (socket, message) => received.next({ socket, message }),
  };
  class ServerSocket extends FakeWebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols, hooks);
    }
  }
  return {
    WebSocketCtor: ServerSocket as unknown as WebSocketConstructor,
    sockets,
    get latest(): FakeWebSocket {
      const socket = sockets[sockets.length - 1];
      if (!socket) throw new Error('the client has made no socket yet');
      return socket;
    },
    received$: received.asObservable(),
    answer(type, reply) {
      return received
        .pipe(
          filter((frame): frame is ReceivedFrame<ClientMessageOf<typeof type>> => frame.message.type === type),
          mergeMap(({ socket, message }) =>
            from(reply(message, socket)).pipe(
              takeUntil(
                merge(
                  socket.closed$,
                  received.pipe(filter((frame) => frame.socket === socket && abortsRequest(frame.message, message.id))),
                ),
              ),
              map((answer) => ({ socket, answer })),
            ),
          ),
        )
        .subscribe(({ socket, answer }) => {
          if (socket.readyState === FakeWebSocket.OPEN) socket.deliver(answer);
        });
    },
  };
}
