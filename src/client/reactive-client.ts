/**
 * The RxJS client. Browser-safe: it imports rxjs, io-ts and the protocol only, and takes its
 * WebSocket constructor from the options or the global scope.
 */
import {
  BehaviorSubject,
  distinctUntilChanged,
  filter,
  lastValueFrom,
  map,
  Observable,
  type OperatorFunction,
  type Subscription,
  take,
  timer,
} from 'rxjs';
import { ClientError, type LLMWSError } from '../errors';
import { replyOf, requestIdOf, serverErrorOf } from '../operators/reply-of';
import type {
  ClientMessage,
  CompleteMessage,
  ControlType,
  HistoryMessage,
  ServerMessage,
  ServerMessageOf,
  ServerMessageType,
  SessionStatus,
} from '../protocol/codecs';
import { encodeMessage } from '../protocol/encode';
import { DEFAULT_MAX_CLIENT_TOOL_RESULT_BYTES } from '../protocol/limits';
import { ClientCore, MESSAGE_TOO_BIG } from './client-core';
import type { HumanInTheLoop } from './human-in-the-loop';
import type {
  ApprovalRequest,
  ConnectionStatus,
  ControlRequest,
  DisconnectInfo,
  ReconnectAttempt,
  ReplyEvent,
  SendOptions,
  TraceContext,
  WSClientOptions,
} from './options';

/** What `send()` and `sendMessage()` resolve with: the `llm_complete` data. */
export type CompleteData = CompleteMessage['data'];

/** What a control is answered with: a `status` message, or a `history` message for the history controls. */
export type ControlAnswer = ServerMessageOf<'status'> | ServerMessageOf<'history'>;

/** Marks a promise as handled (its errors are on `errors$`), and returns it for callers who await it. */
export function reported<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

/**
 * The core of the client: typed observables of everything the server says, `send()` as a cold
 * Observable per reply, reconnects with backoff, jitter and resume, protocol heartbeats, and
 * Promise-returning requests. {@link WSClient} adds the callback API on top.
 *
 * Every method settles or reports: a send with no connection (and none under way) fails at once
 * with `not_connected`; one made while the client reconnects waits at most `queueTimeoutMs`.
 * No promise this client returns can become an unhandled rejection: each error is also on
 * `errors$`, so fire-and-forget calls such as `client.clearHistory()` are safe.
 *
 * ```ts
 * const client = new WSClient({ url: 'ws://localhost:3000/ws' });
 * await client.connect();
 * client.send('Hello').subscribe((event) => console.log(event));
 * ```
 */
export class ReactiveClient extends ClientCore {
  /** The connection: connecting, connected, reconnecting, disconnected. Replays the current value. */
  readonly status$: Observable<ConnectionStatus>;
  /** Every message the server sends, decoded. */
  readonly messages$: Observable<ServerMessage>;
  /** Every `llm_chunk`'s data. */
  readonly chunks$: Observable<ServerMessageOf<'llm_chunk'>['data']>;
  /** Every `llm_complete`'s data. */
  readonly completions$: Observable<CompleteData>;
  /** Every `tool_call`'s data: each call once as `start`, then once as `complete` or `error`. */
  readonly toolCalls$: Observable<ServerMessageOf<'tool_call'>['data']>;
  /** Every `tool_result`'s data (a tool's result, or why it failed). */
  readonly toolResults$: Observable<ServerMessageOf<'tool_result'>['data']>;
  /** Every `llm_reasoning`'s data: the model's reasoning, piece by piece, apart from its text. */
  readonly reasoning$: Observable<ServerMessageOf<'llm_reasoning'>['data']>;
  /**
   * The tool calls waiting for the user's yes or no, oldest first: each from its `tool_call`
   * with status `approval_required` until it is answered (here, or on another connection to the
   * session) or its reply ends. Replays the current list to a new subscriber. Always empty without
   * the `humanInTheLoop` option.
   */
  readonly approvals$: Observable<readonly ApprovalRequest[]>;
  /** Approvals, client tools and answers sent again after a reconnect: the `humanInTheLoop` option's, if given. */
  private readonly loop: HumanInTheLoop | undefined;
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

  constructor(options: WSClientOptions) {
    super(options);
    this.status$ = this.status.pipe(distinctUntilChanged());
    this.messages$ = this.incoming.asObservable();
    this.chunks$ = this.dataOf('llm_chunk');
    this.completions$ = this.dataOf('llm_complete');
    this.toolCalls$ = this.dataOf('tool_call');
    this.toolResults$ = this.dataOf('tool_result');
    this.reasoning$ = this.dataOf('llm_reasoning');
    const { humanInTheLoop } = this.options;
    const loop = humanInTheLoop?.({
      tools: this.options.tools ?? [],
      maxToolResultBytes: this.options.maxToolResultBytes ?? DEFAULT_MAX_CLIENT_TOOL_RESULT_BYTES,
      write: (text) => this.write({ text, requestId: undefined }) === 'sent',
      nextId: () => this.nextId(),
      ours: (requestId) => this.outbox.has(requestId),
      report: (error) => this.errors.next(error),
    });
    this.loop = loop;
    this.approvals$ = loop?.approvals$ ?? new BehaviorSubject<readonly ApprovalRequest[]>([]).asObservable();
    if (loop) {
      this.incoming.subscribe((message) => loop.track(message));
      // Greeted again: the replay before the greeting confirmed what the server took; the rest goes again.
      this.status.subscribe((status) => status === 'connected' && loop.greeted());
      // 1009: the server refused a frame as too large; an answer that caused it must not go again as it was.
      this.disconnections.subscribe(({ code }) => code === MESSAGE_TOO_BIG && loop.frameTooBig());
    }
    this.sessionStatus$ = this.sessionState.pipe(
      filter((status): status is SessionStatus => status !== undefined),
      distinctUntilChanged(),
    );
    this.errors$ = this.errors.asObservable();
    this.reconnecting$ = this.reconnecting.asObservable();
    this.disconnected$ = this.disconnections.asObservable();
  }

  /**
   * Lets a tool call waiting for approval run. Any connection to the session may answer; the
   * first answer counts. Needs the `humanInTheLoop` option (a TypeError without it). Fails on `errors$` only (not connected, or the server's
   * `unknown_tool_call` when the call no longer waits).
   */
  approve(toolCallId: string): void {
    this.humanInTheLoop().decide(toolCallId, true);
  }

  /** Declines a tool call waiting for approval: it does not run, and the model is told so, with `reason`. */
  deny(toolCallId: string, reason?: string): void {
    this.humanInTheLoop().decide(toolCallId, false, reason);
  }

  /** The opt-in part approve() and deny() need; a TypeError without it (a mistake in the code, not on the wire). */
  private humanInTheLoop(): HumanInTheLoop {
    if (!this.loop)
      throw new TypeError('approve() and deny() need the humanInTheLoop option: new WSClient({ url, humanInTheLoop })');
    return this.loop;
  }

  override disconnect(): void {
    super.disconnect();
    // The session is forgotten: nothing of it waits any more.
    this.loop?.reset();
  }

  private dataOf<K extends ServerMessageType>(type: K): Observable<ServerMessageOf<K>['data']> {
    return this.incoming.pipe(
      filter((message): message is ServerMessageOf<K> => message.type === type),
      map((message) => message.data as ServerMessageOf<K>['data']),
    );
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
      const id = limits.id ?? this.nextId();
      const text = encodeMessage(build(id));
      let settled = false;
      // The client's own refusals are reported on errors$ too: a caller who does not listen still hears of them.
      const refuse = (error: ClientError): void => {
        this.errors.next(error);
        subscriber.error(error);
      };
      const answers = this.incoming
        .pipe(
          filter((message) => requestIdOf(message) === id),
          settle,
        )
        .subscribe({
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
      let waiting: Subscription | undefined;
      const frame = { text, requestId: id, oneAtATime: limits.oneAtATime };
      this.outbox.track(
        id,
        frame,
        (error) => {
          settled = true;
          subscriber.error(error);
        },
        // On a connection (out, or waiting behind a reply): the wait for one is over.
        () => waiting?.unsubscribe(),
      );
      const deadline =
        limits.timeoutMs !== undefined && Number.isFinite(limits.timeoutMs)
          ? timer(limits.timeoutMs, this.scheduler).subscribe(() =>
              refuse(new ClientError('request_timeout', `${limits.timedOut} within ${limits.timeoutMs} ms`)),
            )
          : undefined;
      try {
        const { queueTimeoutMs } = this.options;
        if (this.write(frame) === 'queued' && Number.isFinite(queueTimeoutMs)) {
          waiting = timer(queueTimeoutMs, this.scheduler).subscribe(() => {
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
        const sentOn = this.untrack(id);
        if (!settled && sentOn !== undefined) limits.onCancel?.(id);
      };
    });
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
  /** The trace context of a `user_message`: the one given to `send()`, else the client option's. */
  private traceContextFor(traceparent: string | undefined, tracestate: string | undefined): TraceContext {
    const context = traceparent === undefined ? this.options.traceContext?.() : { traceparent, tracestate };
    if (context?.traceparent === undefined) return {};
    return {
      traceparent: context.traceparent,
      ...(context.tracestate === undefined ? {} : { tracestate: context.tracestate }),
    };
  }

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
    const clientTools = (this.options.tools ?? []).map(({ name, description, parameters }) => ({
      name,
      description,
      parameters,
    }));
    return this.exchange<ReplyEvent>(
      (id) => ({
        type: 'user_message',
        id,
        data: {
          text,
          ...(Object.keys(messageOptions).length > 0 ? { options: messageOptions } : {}),
          // The client's tools go with every message: the server offers them for this reply only.
          ...(clientTools.length > 0 ? { clientTools } : {}),
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
    return reported(lastValueFrom(this.send(text, options)).then((event) => (event as CompleteMessage).data));
  }

  /**
   * Sends a control and resolves with the server's answer (a `status` or `history` message).
   * Takes the control's type (`'get_status'`, with the reply to abort as `requestId`), or the
   * seed's whole message, `{ type: 'control', id, data: { type } }`. Rejects with a
   * {@link ServerError} (for example `busy`), `request_timeout` after `timeout`, or
   * `not_connected`; safe to call without awaiting: the error is on `errors$` too.
   */
  sendControl(control: ControlType | ControlRequest, requestId?: string): Promise<ControlAnswer> {
    const data = typeof control === 'string' ? { type: control, ...(requestId ? { requestId } : {}) } : control.data;
    const answer$ = this.exchange(
      (id) => ({ type: 'control', id, data }),
      (messages$) =>
        messages$.pipe(
          map((message) => {
            if (message.type === 'error') throw serverErrorOf(message);
            return message as ControlAnswer;
          }),
          take(1),
        ),
      {
        id: typeof control === 'string' ? undefined : control.id,
        timeoutMs: this.options.timeout,
        what: `the ${data.type} control`,
        timedOut: `no answer to ${data.type}`,
      },
    );
    return reported(lastValueFrom(answer$));
  }

  /** Stops the running reply (or the one named). Resolves once the server has acknowledged. Safe not to await. */
  abort(requestId?: string): Promise<void> {
    return reported(this.sendControl('abort', requestId).then(() => undefined));
  }

  /** Empties the conversation on the server. Safe not to await: a failure (such as `busy`) is on `errors$`. */
  clearHistory(): Promise<void> {
    return reported(this.sendControl('clear_history').then(() => undefined));
  }

  /** The conversation so far, without the system prompt. */
  getHistory(): Promise<HistoryMessage[]> {
    return reported(
      this.sendControl('get_history').then((answer) => (answer.type === 'history' ? answer.data.messages : [])),
    );
  }
}
