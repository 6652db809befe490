import { DestroyRef, inject, NgZone, PLATFORM_ID } from '@angular/core';
import {
  BehaviorSubject,
  distinctUntilChanged,
  map,
  type Observable,
  ReplaySubject,
  Subject,
  Subscription,
} from 'rxjs';
import { ConnectionClosedError, type LLMWSError } from '../errors';
import type { Attachment, SessionStatus, UserMessageOptions } from '../protocol/codecs';
import type { ApprovalRequest, ConnectionStatus, ReplyEvent } from '../client/options';
import { WSClient } from '../client/ws-client';
import { applyChatEvent, type ChatLogEvent, type ChatMessage } from './chat-log';
import { enterZone } from './enter-zone';
import { DEFAULT_AUTO_CONNECT, LLM_WS_OPTIONS } from './options';

/**
 * `isPlatformServer(id)` of @angular/common is this comparison; importing @angular/common would
 * make the entry need the JIT compiler in plain Node (its injectables are partially compiled).
 */
const SERVER_PLATFORM_ID = 'server';

/** A reply this service is streaming. */
interface RunningReply {
  readonly events: ReplaySubject<ReplyEvent>;
  subscription: Subscription | undefined;
}

/**
 * The chat service: one llm-ws connection and its conversation, for Angular. Get it with
 * `inject(LlmWsChat)` after {@link provideLlmWs}.
 *
 * Every stream suits both `toSignal` and the `async` pipe: the state streams (`status$`,
 * `sessionStatus$`, `messages$`, `busy$`) replay their current value to each new subscriber
 * synchronously, so `toSignal(chat.status$, { requireSync: true })` works and a template that
 * subscribes late still sees the current state. Everything is delivered inside Angular's zone,
 * while the client's own timers (heartbeats, reconnect backoff, timeouts) run outside it, so
 * `whenStable()` settles while the socket is open.
 *
 * When the injector that created it is destroyed (the application, or the component whose
 * `providers` hold {@link provideLlmWs}), the running reply is aborted, the socket closed and
 * every stream completes. On the server platform (SSR) it never opens a socket: the state
 * streams stay at `disconnected`, `idle` and `[]`.
 *
 * ```ts
 * @Component({
 *   template: `@for (m of chat.messages$ | async; track m.id) { <p>{{ m.text }}</p> }`,
 * })
 * export class ChatComponent {
 *   readonly chat = inject(LlmWsChat);
 *   readonly status = toSignal(this.chat.status$, { requireSync: true });
 * }
 * ```
 */
export class LlmWsChat {
  /** The connection: `connecting`, `connected`, `reconnecting`, `disconnected`. Replays the current value. */
  readonly status$: Observable<ConnectionStatus>;
  /** What the server's session is doing: `idle`, `thinking`, `streaming`, `calling_tool`, `paused`. Replays the current value. */
  readonly sessionStatus$: Observable<SessionStatus>;
  /** The conversation, a new array on every change (a reply's text grows chunk by chunk). Replays the current value. */
  readonly messages$: Observable<readonly ChatMessage[]>;
  /** True while a reply sent through this service is streaming. Replays the current value. */
  readonly busy$: Observable<boolean>;
  /** Every error: server `error` messages, undecodable frames, connection failures. Not replayed. */
  readonly errors$: Observable<LLMWSError>;
  /**
   * The tool calls waiting for the user's yes or no (a tool with `needsApproval` on the server),
   * oldest first; answer with {@link approve} or {@link deny}. Replays the current list.
   */
  readonly approvals$: Observable<readonly ApprovalRequest[]>;
  /**
   * The underlying client, for what this service does not wrap (`getHistory()`, `getStats()`,
   * the callback API). Undefined on the server platform. Its observables emit outside
   * Angular's zone: subscribe to this service's streams in components.
   */
  readonly client: WSClient | undefined;

  private readonly zone = inject(NgZone);
  private readonly status = new BehaviorSubject<ConnectionStatus>('disconnected');
  private readonly sessionStatus = new BehaviorSubject<SessionStatus>('idle');
  private readonly log = new BehaviorSubject<readonly ChatMessage[]>([]);
  private readonly errors = new Subject<LLMWSError>();
  private readonly approvals = new BehaviorSubject<readonly ApprovalRequest[]>([]);
  private readonly running = new Map<string, RunningReply>();
  private readonly subscriptions = new Subscription();
  private nextId = 1;
  private destroyed = false;

  /** Reads {@link LLM_WS_OPTIONS}: call it in an injection context (as {@link provideLlmWs}'s factory does). */
  constructor() {
    const { autoConnect = DEFAULT_AUTO_CONNECT, ...options } = inject(LLM_WS_OPTIONS);
    this.status$ = this.status.pipe(distinctUntilChanged());
    this.sessionStatus$ = this.sessionStatus.pipe(distinctUntilChanged());
    this.messages$ = this.log.asObservable();
    this.busy$ = this.log.pipe(
      map((log) => log.some((message) => message.status === 'streaming')),
      distinctUntilChanged(),
    );
    this.errors$ = this.errors.asObservable();
    this.approvals$ = this.approvals.asObservable();
    inject(DestroyRef).onDestroy(() => this.destroy());
    if (inject(PLATFORM_ID) === SERVER_PLATFORM_ID) {
      this.client = undefined;
      return;
    }
    const client = new WSClient(options);
    this.client = client;
    this.subscriptions.add(
      client.status$.pipe(enterZone(this.zone)).subscribe((status) => {
        this.status.next(status);
        // A connection given up for good has no session any more.
        if (status === 'disconnected') this.sessionStatus.next('idle');
      }),
    );
    this.subscriptions.add(
      client.sessionStatus$.pipe(enterZone(this.zone)).subscribe((status) => this.sessionStatus.next(status)),
    );
    this.subscriptions.add(client.errors$.pipe(enterZone(this.zone)).subscribe((error) => this.errors.next(error)));
    this.subscriptions.add(
      client.approvals$.pipe(enterZone(this.zone)).subscribe((pending) => this.approvals.next(pending)),
    );
    if (autoConnect) this.connect();
  }

  /** Connects (reconnecting with backoff on loss); does nothing while connected or connecting, on the server platform, or once destroyed. */
  connect(): void {
    const client = this.client;
    if (!client || this.destroyed) return;
    // Failures reach status$ and errors$; the promise itself is for callers of the client.
    this.zone.runOutsideAngular(() => void client.connect());
  }

  /** Closes the connection and stops reconnecting; a running reply fails with `disconnected`. The next `connect()` starts a new conversation on the server. */
  disconnect(): void {
    const client = this.client;
    if (!client) return;
    this.zone.runOutsideAngular(() => client.disconnect());
  }

  /**
   * Sends `text` now (no subscription needed, so a template can call it from an event binding)
   * and appends it and its reply to `messages$`. The server runs one reply at a time: sending
   * while `busy$` is true fails the new reply with `busy`.
   *
   * Returns the reply's events (chunks, tool calls and results, then the `llm_complete`),
   * replayed to every subscriber; subscribe only if you want them. A failure errors it and is
   * also recorded on the reply's message, so ignoring the result never leaves an error unseen.
   * On the server platform it errors with `disconnected`. `options.attachments` sends pictures and
   * files with the text (see `WSClient.send`).
   */
  send(
    text: string,
    options?: UserMessageOptions & { readonly attachments?: readonly Attachment[] },
  ): Observable<ReplyEvent> {
    const events = new ReplaySubject<ReplyEvent>();
    const client = this.client;
    if (!client || this.destroyed) {
      events.error(
        new ConnectionClosedError(
          'disconnected',
          client ? 'the chat service was destroyed' : 'llm-ws does not connect on the server platform',
          { retryable: false },
        ),
      );
      return events.asObservable();
    }
    const n = this.nextId++;
    const replyId = `reply-${n}`;
    this.update({ kind: 'sent', userId: `user-${n}`, replyId, text });
    const reply: RunningReply = { events, subscription: undefined };
    this.running.set(replyId, reply);
    const settle = (): void => {
      this.running.delete(replyId);
    };
    reply.subscription = this.zone.runOutsideAngular(() =>
      client
        .send(text, options)
        .pipe(enterZone(this.zone))
        .subscribe({
          next: (event) => {
            this.update({ kind: 'reply', replyId, event });
            events.next(event);
          },
          error: (error: LLMWSError) => {
            settle();
            this.update({ kind: 'failed', replyId, code: error.code ?? 'error', message: error.message });
            events.error(error);
          },
          complete: () => {
            settle();
            events.complete();
          },
        }),
    );
    // It may have failed already (a full queue): then it is no longer running.
    if (reply.subscription.closed) settle();
    return events.asObservable();
  }

  /** Lets a tool call waiting for approval run (any tab or device on the conversation may answer). */
  approve(toolCallId: string): void {
    const client = this.client;
    if (client) this.zone.runOutsideAngular(() => client.approve(toolCallId));
  }

  /** Declines a tool call waiting for approval: it does not run, and the model is told so, with `reason`. */
  deny(toolCallId: string, reason?: string): void {
    const client = this.client;
    if (client) this.zone.runOutsideAngular(() => client.deny(toolCallId, reason));
  }

  /** Stops the running reply: the server aborts it (and the model request); its message keeps the text so far, marked `aborted`. */
  abort(): void {
    for (const [replyId, reply] of [...this.running]) {
      this.running.delete(replyId);
      this.zone.runOutsideAngular(() => reply.subscription?.unsubscribe());
      this.update({ kind: 'aborted', replyId });
      reply.events.complete();
    }
  }

  /**
   * Aborts the running reply, empties `messages$` and the conversation on the server. Resolves
   * once the server has confirmed; rejects with the client's error (for example `request_timeout`).
   */
  clear(): Promise<void> {
    this.abort();
    this.update({ kind: 'cleared' });
    const client = this.client;
    if (!client) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.zone.runOutsideAngular(() => {
        void client.clearHistory().then(
          () => this.zone.run(() => resolve()),
          (error: unknown) => this.zone.run(() => reject(error)),
        );
      });
    });
  }

  private update(event: ChatLogEvent): void {
    const next = applyChatEvent(this.log.value, event);
    if (next !== this.log.value) this.log.next(next);
  }

  private destroy(): void {
    if (this.destroyed) return;
    this.abort();
    this.destroyed = true;
    this.disconnect();
    this.subscriptions.unsubscribe();
    for (const subject of [this.status, this.sessionStatus, this.log, this.errors, this.approvals])
      (subject as Subject<unknown>).complete();
  }
}
