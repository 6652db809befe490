import { computed, DestroyRef, inject, NgZone, PLATFORM_ID, type Signal, signal } from '@angular/core';
import {
  BehaviorSubject,
  distinctUntilChanged,
  map,
  type MonoTypeOperatorFunction,
  type Observable,
  ReplaySubject,
  Subject,
  Subscription,
} from 'rxjs';
import { ConnectionClosedError, type LLMWSError } from '../errors';
import type {
  Attachment,
  ConversationSummary,
  HistoryReplyMessage,
  SessionStatus,
  Usage,
  UserMessageOptions,
} from '../protocol/codecs';
import type { ApprovalRequest, ConnectionStatus, ReplyEvent } from '../client/options';
import { humanInTheLoop } from '../client/human-in-the-loop';
import { WSClient } from '../client/ws-client';
import { chatFromHistory } from './chat-history';
import { applyChatEvent, type ChatErrorCode, type ChatLogEvent, type ChatMessage } from './chat-log';
import { enterZone } from './enter-zone';
import { DEFAULT_AUTO_CONNECT, LLM_WS_OPTIONS } from './options';

/**
 * `isPlatformServer(id)` of @angular/common is this comparison; importing @angular/common would
 * make the entry need the JIT compiler in plain Node (its injectables are partially compiled).
 */
const SERVER_PLATFORM_ID = 'server';

/** Whether a reply of the conversation is streaming. */
const isBusy = (log: readonly ChatMessage[]): boolean => log.some((message) => message.status === 'streaming');

/**
 * The chat service {@link provideLlmWs} registered, in an injection context (a component's
 * field initialiser or constructor): `readonly chat = injectLlmWsChat();`.
 */
export function injectLlmWsChat(): LlmWsChat {
  return inject(LlmWsChat);
}

/** A reply this service is streaming. */
interface RunningReply {
  readonly events: ReplaySubject<ReplyEvent>;
  subscription: Subscription | undefined;
}

/**
 * The chat service: one llm-ws connection and its conversation, for Angular. Get it with
 * {@link injectLlmWsChat} (or `inject(LlmWsChat)`) after {@link provideLlmWs}.
 *
 * Conversations and branches: `regenerate()`, `editMessage()` and `switchBranch()` (a message's
 * `messageId` and `siblingIds` make a "< 2/3 >" switcher), the user's `conversations` with
 * `listConversations()`, `openConversation()`, `renameConversation()`, `deleteConversation()`,
 * and `usage`, what the conversation has spent.
 *
 * Signals first: `messages`, `status`, `sessionStatus`, `approvals` and `lastError` are
 * `Signal`s, `busy` is `computed` from `messages`; read them in templates as they are. The same
 * state is there as observables beside them (`messages$`, `status$`, ...), which replay their
 * current value to each new subscriber synchronously, for the `async` pipe and rxjs code. With
 * zone.js, everything is delivered inside Angular's zone while the client's own timers
 * (heartbeats, reconnect backoff, timeouts) run outside it, so `whenStable()` settles while the
 * socket is open; zoneless, nothing enters a zone (no `NgZone.run` per chunk): signals schedule
 * change detection themselves.
 *
 * When the injector that created it is destroyed (the application, or the component whose
 * `providers` hold {@link provideLlmWs}), the running reply is aborted, the socket closed and
 * every stream completes. On the server platform (SSR) it never opens a socket: the state
 * streams stay at `disconnected`, `idle` and `[]`.
 *
 * ```ts
 * @Component({
 *   template: `<p>{{ chat.status() }}</p> @for (m of chat.messages(); track m.id) { <p>{{ m.text }}</p> }`,
 * })
 * export class ChatComponent {
 *   readonly chat = injectLlmWsChat();
 * }
 * ```
 */
export class LlmWsChat {
  /** The conversation, a new array on every change (a reply's text grows chunk by chunk). */
  readonly messages: Signal<readonly ChatMessage[]>;
  /** The connection: `connecting`, `connected`, `reconnecting`, `disconnected`. */
  readonly status: Signal<ConnectionStatus>;
  /** What the server's session is doing: `idle`, `thinking`, `streaming`, `calling_tool`, `paused`. */
  readonly sessionStatus: Signal<SessionStatus>;
  /** True while a reply sent through this service is streaming (computed from `messages`). */
  readonly busy: Signal<boolean>;
  /** The tool calls waiting for the user's yes or no, oldest first; answer with {@link approve} or {@link deny}. */
  readonly approvals: Signal<readonly ApprovalRequest[]>;
  /**
   * The latest error of the connection or of a request (see `errors$`), until the next `send()`
   * or `clear()`; undefined when there is none. A failed reply's error is also on its message.
   */
  readonly lastError: Signal<LLMWSError | undefined>;
  /**
   * The user's conversations as {@link listConversations} last loaded them, the most recently
   * updated first; each with `usage`, the tokens it has spent so far, once a reply reported any.
   */
  readonly conversations: Signal<readonly ConversationSummary[]>;
  /** Whether `listConversations({ more: true })` has another page to load. */
  readonly moreConversations: Signal<boolean>;
  /**
   * What this conversation has spent so far (every reply's usage summed by the server), once a
   * reply reported usage; read again after each reply, open and branch switch.
   */
  readonly usage: Signal<Usage | undefined>;
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
  /** Zoneless change detection gives a no-op zone (not an `NgZone`): nothing to enter then. */
  private readonly zoned = this.zone instanceof NgZone;
  private readonly statusState = new BehaviorSubject<ConnectionStatus>('disconnected');
  private readonly sessionState = new BehaviorSubject<SessionStatus>('idle');
  private readonly log = new BehaviorSubject<readonly ChatMessage[]>([]);
  private readonly errors = new Subject<LLMWSError>();
  private readonly waiting = new BehaviorSubject<readonly ApprovalRequest[]>([]);
  private readonly messagesSignal = signal<readonly ChatMessage[]>([]);
  private readonly statusSignal = signal<ConnectionStatus>('disconnected');
  private readonly sessionStatusSignal = signal<SessionStatus>('idle');
  private readonly approvalsSignal = signal<readonly ApprovalRequest[]>([]);
  private readonly lastErrorSignal = signal<LLMWSError | undefined>(undefined);
  private readonly conversationsSignal = signal<readonly ConversationSummary[]>([]);
  private readonly usageSignal = signal<Usage | undefined>(undefined);
  private nextCursor: string | undefined;
  private readonly moreSignal = signal(false);
  private readonly running = new Map<string, RunningReply>();
  private readonly subscriptions = new Subscription();
  private nextId = 1;
  private destroyed = false;

  /** Reads {@link LLM_WS_OPTIONS}: call it in an injection context (as {@link provideLlmWs}'s factory does). */
  constructor() {
    const { autoConnect = DEFAULT_AUTO_CONNECT, ...options } = inject(LLM_WS_OPTIONS);
    this.messages = this.messagesSignal.asReadonly();
    this.status = this.statusSignal.asReadonly();
    this.sessionStatus = this.sessionStatusSignal.asReadonly();
    this.approvals = this.approvalsSignal.asReadonly();
    this.lastError = this.lastErrorSignal.asReadonly();
    this.conversations = this.conversationsSignal.asReadonly();
    this.moreConversations = this.moreSignal.asReadonly();
    this.usage = this.usageSignal.asReadonly();
    this.busy = computed(() => isBusy(this.messagesSignal()));
    this.status$ = this.statusState.pipe(distinctUntilChanged());
    this.sessionStatus$ = this.sessionState.pipe(distinctUntilChanged());
    this.messages$ = this.log.asObservable();
    this.busy$ = this.log.pipe(map(isBusy), distinctUntilChanged());
    this.errors$ = this.errors.asObservable();
    this.approvals$ = this.waiting.asObservable();
    inject(DestroyRef).onDestroy(() => this.destroy());
    if (inject(PLATFORM_ID) === SERVER_PLATFORM_ID) {
      this.client = undefined;
      return;
    }
    // The chat shows approvals: it always has the human in the loop (and runs `tools`, when given).
    const client = new WSClient({ humanInTheLoop, ...options });
    this.client = client;
    this.subscriptions.add(
      client.status$.pipe(this.inZone()).subscribe((status) => {
        this.setStatus(status);
        // A connection given up for good has no session any more.
        if (status === 'disconnected') this.setSessionStatus('idle');
      }),
    );
    this.subscriptions.add(
      client.sessionStatus$.pipe(this.inZone()).subscribe((status) => this.setSessionStatus(status)),
    );
    this.subscriptions.add(
      client.errors$.pipe(this.inZone()).subscribe((error) => {
        this.lastErrorSignal.set(error);
        this.errors.next(error);
      }),
    );
    this.subscriptions.add(
      client.approvals$.pipe(this.inZone()).subscribe((pending) => {
        this.approvalsSignal.set(pending);
        this.waiting.next(pending);
      }),
    );
    if (autoConnect) this.connect();
  }

  /** Connects (reconnecting with backoff on loss); does nothing while connected or connecting, on the server platform, or once destroyed. */
  connect(): void {
    const client = this.client;
    if (!client || this.destroyed) return;
    // Failures reach status$ and errors$; the promise itself is for callers of the client.
    this.outside(() => void client.connect());
  }

  /** Closes the connection and stops reconnecting; a running reply fails with `disconnected`. The next `connect()` starts a new conversation on the server. */
  disconnect(): void {
    const client = this.client;
    if (!client) return;
    this.outside(() => client.disconnect());
  }

  /**
   * Sends `text` now (no subscription needed, so a template can call it from an event binding)
   * and appends it and its reply to `messages`. The server runs one reply at a time: a message
   * sent while `busy` is true waits on the client and goes out when the running reply ends.
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
    return this.stream(
      (ids) => ({ kind: 'sent', ...ids, text }),
      (client) => client.send(text, options),
    );
  }

  /**
   * Answers the last user message again, replacing the last reply in `messages` (the server
   * keeps the old one as a branch: its `siblingIds` show both once it ends). Streams like {@link send}.
   */
  regenerate(): Observable<ReplyEvent> {
    return this.stream(
      ({ replyId }) => ({ kind: 'regenerating', replyId }),
      (client) => client.regenerate(),
      true,
    );
  }

  /**
   * Replaces user message `messageId` (a {@link ChatMessage.messageId}) with `text` and answers
   * it: a new branch from there; the old one stays ({@link switchBranch} goes back). Streams like {@link send}.
   */
  editMessage(messageId: string, text: string): Observable<ReplyEvent> {
    return this.stream(
      (ids) => ({ kind: 'edited', messageId, ...ids, text }),
      (client) => client.editMessage(messageId, text),
      true,
    );
  }

  /** Makes the branch of message `messageId` (one of a message's `siblingIds`) active; `messages` shows it. */
  switchBranch(messageId: string): Promise<void> {
    return this.call((client) => client.switchBranch(messageId).then(() => this.reload(client)));
  }

  /** Loads the first page of {@link conversations}, or (`more`) appends the next one. */
  listConversations(options: { readonly more?: boolean; readonly limit?: number } = {}): Promise<void> {
    const cursor = options.more ? this.nextCursor : undefined;
    if (options.more && !cursor) return Promise.resolve();
    return this.call((client) =>
      client.listConversations({ ...(options.limit ? { limit: options.limit } : {}), ...(cursor ? { cursor } : {}) }),
    ).then((page) => {
      this.nextCursor = page.nextCursor;
      this.moreSignal.set(page.nextCursor !== undefined);
      this.conversationsSignal.set(
        cursor ? [...this.conversationsSignal(), ...page.conversations] : page.conversations,
      );
    });
  }

  /** Moves to conversation `id` (one of {@link conversations}): `messages` shows it, and what is sent goes there. */
  openConversation(id: string): Promise<void> {
    this.abort();
    return this.call((client) => client.openConversation(id).then(() => this.reload(client)));
  }

  /** Gives conversation `id` a title (1 to 200 characters); {@link conversations} is loaded again. */
  renameConversation(id: string, title: string): Promise<void> {
    return this.call((client) => client.renameConversation(id, title)).then(() => this.listConversations());
  }

  /** Deletes conversation `id` on the server; {@link conversations} is loaded again. */
  deleteConversation(id: string): Promise<void> {
    return this.call((client) => client.deleteConversation(id)).then(() => this.listConversations());
  }

  /** Streams the reply `start` asks for into `messages` (as `change` puts it there); `reload`: the history once it ends, for its branches. */
  private stream(
    change: (ids: { userId: string; replyId: string }) => ChatLogEvent,
    start: (client: WSClient) => Observable<ReplyEvent>,
    reload = false,
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
    this.lastErrorSignal.set(undefined);
    const n = this.nextId++;
    const replyId = `reply-${n}`;
    this.update(change({ userId: `user-${n}`, replyId }));
    const reply: RunningReply = { events, subscription: undefined };
    this.running.set(replyId, reply);
    const settle = (): void => {
      this.running.delete(replyId);
    };
    reply.subscription = this.outside(() =>
      start(client)
        .pipe(this.inZone())
        .subscribe({
          next: (event) => {
            this.update({ kind: 'reply', replyId, event });
            events.next(event);
          },
          error: (error: LLMWSError) => {
            settle();
            this.update({ kind: 'failed', replyId, code: error.code as ChatErrorCode, message: error.message });
            events.error(error);
          },
          complete: () => {
            settle();
            // The branches it made, and the conversation's usage, are the server's to say.
            void (reload ? this.call((c) => this.reload(c)) : this.readUsage(client)).catch(() => undefined);
            events.complete();
          },
        }),
    );
    // It may have failed already (a full queue): then it is no longer running.
    if (reply.subscription.closed) settle();
    return events.asObservable();
  }

  /** `messages` and `usage` from the server's history. */
  private reload(client: WSClient): Promise<void> {
    return client.sendControl('get_history').then((answer) => {
      const { messages, usage } = (answer as HistoryReplyMessage).data;
      this.enter(() => {
        this.update({ kind: 'loaded', messages: chatFromHistory(messages) });
        this.usageSignal.set(usage);
      });
    });
  }

  private readUsage(client: WSClient): Promise<void> {
    return client.sendControl('get_status').then((answer) => {
      if (answer.type === 'status' && answer.data.usage) {
        const { usage } = answer.data;
        this.enter(() => this.usageSignal.set(usage));
      }
    });
  }

  /** Runs `request` outside Angular's zone and settles inside it; rejects with `disconnected` where there is no client. */
  private call<T>(request: (client: WSClient) => Promise<T>): Promise<T> {
    const client = this.client;
    if (!client || this.destroyed)
      return Promise.reject(new ConnectionClosedError('disconnected', 'no connection here', { retryable: false }));
    return new Promise<T>((resolve, reject) => {
      this.outside(() => {
        request(client).then(
          (value) => this.enter(() => resolve(value)),
          (error: unknown) => this.enter(() => reject(error)),
        );
      });
    });
  }

  /** Lets a tool call waiting for approval run (any tab or device on the conversation may answer). */
  approve(toolCallId: string): void {
    const client = this.client;
    if (client) this.outside(() => client.approve(toolCallId));
  }

  /** Declines a tool call waiting for approval: it does not run, and the model is told so, with `reason`. */
  deny(toolCallId: string, reason?: string): void {
    const client = this.client;
    if (client) this.outside(() => client.deny(toolCallId, reason));
  }

  /** Stops the running reply: the server aborts it (and the model request); its message keeps the text so far, marked `aborted`. */
  abort(): void {
    for (const [replyId, reply] of [...this.running]) {
      this.running.delete(replyId);
      this.outside(() => reply.subscription?.unsubscribe());
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
    this.lastErrorSignal.set(undefined);
    this.update({ kind: 'cleared' });
    if (!this.client) return Promise.resolve();
    return this.call((client) => client.clearHistory());
  }

  private update(event: ChatLogEvent): void {
    const next = applyChatEvent(this.log.value, event);
    if (next === this.log.value) return;
    this.messagesSignal.set(next);
    this.log.next(next);
  }

  private setStatus(status: ConnectionStatus): void {
    this.statusSignal.set(status);
    this.statusState.next(status);
  }

  private setSessionStatus(status: SessionStatus): void {
    this.sessionStatusSignal.set(status);
    this.sessionState.next(status);
  }

  /** Into Angular's zone with zone.js; zoneless, as it comes (no `NgZone.run` per chunk). */
  private inZone<T>(): MonoTypeOperatorFunction<T> {
    return this.zoned ? enterZone(this.zone) : (source) => source;
  }

  private enter(fn: () => void): void {
    if (this.zoned) this.zone.run(fn);
    else fn();
  }

  /** Outside Angular's zone with zone.js (the client's timers must not keep it busy); zoneless, as it is. */
  private outside<T>(fn: () => T): T {
    return this.zoned ? this.zone.runOutsideAngular(fn) : fn();
  }

  private destroy(): void {
    if (this.destroyed) return;
    this.abort();
    this.destroyed = true;
    this.disconnect();
    this.subscriptions.unsubscribe();
    for (const subject of [this.statusState, this.sessionState, this.log, this.errors, this.waiting])
      (subject as Subject<unknown>).complete();
  }
}
