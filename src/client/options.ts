import type { SchedulerLike } from 'rxjs';
import type { LLMWSError } from '../errors';
import type { HumanInTheLoopFactory } from './human-in-the-loop';
import type {
  Attachment,
  ClientMessage,
  ControlMessage,
  ServerMessage,
  UserMessage,
  UserMessageOptions,
} from '../protocol/codecs';

/**
 * Reconnect attempts in a row before giving up, unless configured. With the default delays a
 * server that is not there is given up on within 9.5 s (docs/guide/browser.md, "Connection timings").
 */
export const DEFAULT_RECONNECT_ATTEMPTS = 5;
/** Delay before the first reconnect attempt unless configured, in ms; doubled for each further one. */
export const DEFAULT_RECONNECT_DELAY_MS = 500;
/** Cap on the reconnect delay unless configured, in ms (a server's `closing` may ask for longer). */
export const DEFAULT_MAX_RECONNECT_DELAY_MS = 3000;
/** Share of each reconnect delay that is random unless configured: 1 is "full jitter". */
export const DEFAULT_RECONNECT_JITTER = 1;
/** Protocol ping period unless configured, in ms. */
export const DEFAULT_CLIENT_HEARTBEAT_INTERVAL_MS = 30_000;
/** Time allowed for a greeting, a control's answer, or a late heartbeat, unless configured, in ms. */
export const DEFAULT_TIMEOUT_MS = 10_000;
/** Messages kept while reconnecting unless configured. */
export const DEFAULT_MAX_QUEUE_SIZE = 100;
/** Longest a message waits for a connection while the client (re)connects, unless configured, in ms. */
export const DEFAULT_QUEUE_TIMEOUT_MS = 30_000;

/** A WebSocket constructor: the browser's, Bun's, Node 22's, or the `ws` package's. */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocket;

/**
 * Settings of a {@link WSClient}. Only `url` is required; defaults are the exported constants.
 * The constructor checks them (types and ranges) and throws an `LLMWSError` with code
 * `invalid_options` naming the first bad one.
 */
export interface WSClientOptions {
  /** The server's WebSocket URL, for example `ws://localhost:3000/ws`. */
  readonly url: string;
  /** Reconnect attempts in a row before giving up; 0 never reconnects. @default DEFAULT_RECONNECT_ATTEMPTS */
  readonly reconnectAttempts?: number;
  /** Delay before the first reconnect, in ms, doubled for each further one. @default DEFAULT_RECONNECT_DELAY_MS */
  readonly reconnectDelay?: number;
  /** Cap on the reconnect delay, in ms. @default DEFAULT_MAX_RECONNECT_DELAY_MS */
  readonly maxReconnectDelay?: number;
  /** Share of each delay that is random, 0 (exact) to 1 (full jitter, applied after the cap). @default DEFAULT_RECONNECT_JITTER */
  readonly reconnectJitter?: number;
  /**
   * Protocol ping period, in ms; a server silent for this plus `timeout` counts as gone. `0`
   * turns heartbeats off (no pings, no silence check), for example in marble tests, where a
   * heartbeat would keep virtual time running for ever. @default DEFAULT_CLIENT_HEARTBEAT_INTERVAL_MS
   */
  readonly heartbeatInterval?: number;
  /** Time for the server's greeting, for a control's answer, and slack for heartbeats, in ms. @default DEFAULT_TIMEOUT_MS */
  readonly timeout?: number;
  /** WebSocket subprotocols. */
  readonly protocols?: string | string[];
  /**
   * Messages kept while reconnecting, and user messages that wait, once reconnected, for the reply
   * before them (queued messages go out one at a time); sending more fails with `queue_full`.
   * @default DEFAULT_MAX_QUEUE_SIZE
   */
  readonly maxQueueSize?: number;
  /**
   * Longest a message sent while the client connects or reconnects waits for the connection, in
   * ms; then it fails with `not_connected`. `Infinity` waits until the reconnects give up.
   * (With no connection and no reconnect under way, a send fails with `not_connected` at once.)
   * @default DEFAULT_QUEUE_TIMEOUT_MS
   */
  readonly queueTimeoutMs?: number;
  /**
   * Longest a reply may take, from `send()` to its `llm_complete`, in ms; then the client aborts
   * it on the server and fails it with `request_timeout`. One call can set its own (`timeoutMs`).
   * @default undefined (no limit: the server's own timeouts end a stalled model)
   */
  readonly replyTimeoutMs?: number;
  /** @default globalThis.WebSocket (the Node entry of llm-ws passes the `ws` package) */
  readonly WebSocketCtor?: WebSocketConstructor;
  /**
   * The scheduler of every timer of the client: heartbeats, greeting and control timeouts,
   * reconnect backoff, queue and reply timeouts, and the clock of `getStats()`. Pass a
   * `TestScheduler` to test code built on the client in virtual time (inside
   * `TestScheduler.run` the default is virtual already).
   * @default asyncScheduler
   */
  readonly scheduler?: SchedulerLike;
  /**
   * The random source, from 0 (inclusive) to 1 (exclusive), of the reconnect jitter and of the
   * client's message id prefix. Pass a fixed one for deterministic tests.
   * @default Math.random
   */
  readonly random?: () => number;
  /**
   * Tools that run here, in the client (read the page, ask the user, get the location): declared
   * on every `user_message` as `clientTools`, offered to the model beside the server's. When the
   * model calls one for a reply this client sent, the client runs `execute` and sends the result
   * back (`tool_result`); a throw or rejection is sent as the call's `error`. Needs the
   * `humanInTheLoop` option, and `WSClient` (a `ReactiveClient` does not take it: {@link ReactiveClientOptions}).
   * @default []
   */
  readonly tools?: readonly ClientTool[];
  /**
   * Approvals and client tools, opt-in: pass `humanInTheLoop` (from `llm-ws/client`) to answer
   * tool calls waiting for approval (`approvals$`, `approve()`, `deny()`, `onToolApproval()`) and
   * to run `tools`. Without it, `approvals$` stays empty, `approve()` and `deny()` throw, `tools`
   * is refused, and a browser bundle leaves that code out. `WSClient`'s: a `ReactiveClient` does
   * not take it.
   * @default none
   */
  readonly humanInTheLoop?: HumanInTheLoopFactory;
  /**
   * The W3C trace context each `user_message` carries, asked for as each is sent (from your
   * tracer: with OpenTelemetry, `propagation.inject(context.active(), carrier)` fills
   * `traceparent` and `tracestate`): the server's spans for the reply then join that trace.
   * A `traceparent` given to `send()` wins over it. @default none
   */
  readonly traceContext?: () => TraceContext | undefined;
  /**
   * Largest result of a client tool sent to the server, as JSON, in UTF-8 bytes: a larger one is
   * sent as the call's `error` naming its size and this limit, so the model hears why (the
   * server's own bound is its `maxClientToolResultBytes`; a frame over its `maxPayload` would
   * close the connection). Keep it at or below the server's.
   * @default 262144 (256 KiB, the server's default)
   */
  readonly maxToolResultBytes?: number;
  /**
   * A session to join on connect instead of starting a new one (another tab's or device's: see
   * `WSClient.session`). Its stream is replayed from the start, as far as the server still holds it.
   */
  readonly session?: SessionCredentials;
  /**
   * Join the session beside the connections already on it (`resume` with `share: true`), instead
   * of taking it over (which closes the other with 4409): every tab on one conversation gets
   * every message, and any of them may send.
   * @default false
   */
  readonly share?: boolean;
}

/**
 * Settings of a {@link ReactiveClient}: those of {@link WSClientOptions} but the ones only a
 * `WSClient` acts on (`tools`, `humanInTheLoop`, `maxToolResultBytes`), so that TypeScript
 * refuses them where they would do nothing.
 */
export type ReactiveClientOptions = Omit<WSClientOptions, 'tools' | 'humanInTheLoop' | 'maxToolResultBytes'>;

/** What names a session and lets a client resume or join it. Keep `resumeToken` secret: it is the key. */
export interface SessionCredentials {
  readonly sessionId: string;
  readonly resumeToken: string;
}

/** What a client tool's `execute` knows about the call. */
export interface ClientToolContext {
  readonly toolCallId: string;
  /** The `user_message` whose reply made the call. */
  readonly requestId: string;
}

/** A tool the client runs (see {@link WSClientOptions.tools}). */
export interface ClientTool<Args = unknown> {
  /** 1 to 64 letters, digits, `_` or `-`; not the name of one of the server's tools. */
  readonly name: string;
  /** What the tool does, for the model. */
  readonly description: string;
  /** The JSON Schema of the arguments object. */
  readonly parameters: { readonly [key: string]: unknown };
  /**
   * Runs the tool: returns the result (any JSON value), a Promise of it, or an Observable whose
   * last value is the result.
   */
  execute(args: Args, context: ClientToolContext): unknown;
}

/** A tool call that waits for the user's yes or no, as `approvals$` lists it. */
export interface ApprovalRequest {
  readonly toolCallId: string;
  readonly toolName: string;
  /** The arguments the model passed (parsed JSON). */
  readonly args: unknown;
  /** The reply that made the call. */
  readonly requestId?: string;
  /** How long the server waits for the answer before it counts the call as denied, in ms. */
  readonly timeoutMs?: number;
}

/**
 * Options of one `send()` or `sendMessage()`: the message's options, which go to the server,
 * plus `timeoutMs`, which stays on the client.
 */
export interface SendOptions extends UserMessageOptions, TraceContext {
  /** Longest this reply may take, in ms (see {@link WSClientOptions.replyTimeoutMs}). @default the client's `replyTimeoutMs` */
  readonly timeoutMs?: number;
  /**
   * Pictures and files sent with the text: `{ mediaType, data }` (base64 bytes) or
   * `{ mediaType, url }` (a `data:` URL, or an `https:` URL of a picture, which the model
   * fetches), each with an optional `name`. The server refuses what passes its limits with
   * `attachment_too_large`, `unsupported_attachment` or `invalid_attachment`. @default none
   */
  readonly attachments?: readonly Attachment[];
  /**
   * Edits user message `editOf` (an `id` from the history or `llm_complete.userMessageId`): the
   * text starts a new branch beside it, the old branch stays (see `switchBranch`). @default none
   */
  readonly editOf?: string;
  /** Answers the last user message again as a new branch beside its answer (the text is not used). @default false */
  readonly regenerate?: boolean;
}

/** W3C trace context for a `user_message` (see `docs/PROTOCOL.md`). */
export interface TraceContext {
  /** `00-<trace id>-<parent span id>-<flags>`, lowercase hex. */
  readonly traceparent?: string;
  readonly tracestate?: string;
}

/**
 * A control in the seed's shape, `{ type: 'control', id, data: { type } }`, as `sendControl()`
 * takes it beside the bare control type. `id`, when given, becomes the message id (and the
 * answer's `requestId`): keep it unique among the requests in flight.
 */
export type ControlRequest = Omit<ControlMessage, 'id'> & { readonly id?: string };

/** The client's connection, as `status$` reports it. */
export type ConnectionStatus = 'connecting' | 'connected' | 'reconnecting' | 'disconnected';

export type { ReplyEvent } from '../protocol/codecs';

/** Traffic counters, as `getStats()` reports them. */
export interface ClientStats {
  readonly messagesSent: number;
  readonly messagesReceived: number;
  /** UTF-8 bytes of the frames sent. */
  readonly bytesSent: number;
  /** UTF-8 bytes of the frames received. */
  readonly bytesReceived: number;
  /** Reconnect attempts since `connect()`. */
  readonly reconnects: number;
  /** When the current connection was greeted; null while not connected. */
  readonly connectedSince: Date | null;
  /**
   * Round trip of the last request the server answered, in ms: from the frame going out to the
   * first message carrying its id (a ping's `pong`, a control's answer, a reply's `thinking`
   * status). Null before the first answer.
   */
  readonly lastRoundTripMs: number | null;
}

// The seed's type names, derived from the codecs and the client's own types.

/** The seed's name for a `user_message`'s data: `{ text, options? }`. */
export type UserMessageData = UserMessage['data'];
/** The seed's name for what `getStats()` returns. */
export type ConnectionStats = ClientStats;
/** The seed's name for any protocol message, `{ type, id, data }`, in either direction. */
export type WSMessage = ClientMessage | ServerMessage;
/** The seed's callback type: what the `on...` methods take. */
export type EventHandler<T = unknown> = (data: T) => void;
/** The seed's error callback type: what `onError` and `onCommunicationError` take. */
export type ErrorEventHandler = (error: LLMWSError) => void;

/** A reconnect about to happen, as `onReconnecting` reports it. */
export interface ReconnectAttempt {
  /** 1 for the first retry after a loss. */
  readonly attempt: number;
  readonly delayMs: number;
}

/** A connection that ended, as `onDisconnected` reports it. */
export interface DisconnectInfo {
  /** The close code, when the socket closed with one. */
  readonly code: number | undefined;
  readonly reason: string;
  /** Whether the client will try to reconnect. */
  readonly willReconnect: boolean;
}
