import { BehaviorSubject, filter, lastValueFrom, map, Observable, type OperatorFunction, skip, take } from 'rxjs';
import { ClientError } from '../errors';
import { serverErrorOf } from '../operators/reply-of';
import type {
  ClientMessage,
  ClientToolDeclaration,
  ControlType,
  ConversationSummary,
  HistoryMessage,
  ReplyEvent,
  ServerMessage,
  ServerMessageOf,
  ServerMessageType,
  SessionStatus,
} from '../protocol/codecs';
import { DEFAULT_MAX_CLIENT_TOOL_RESULT_BYTES } from '../protocol/limits';
import { serverMessageDataShapes } from '../protocol/server-shapes.generated';
import type { HumanInTheLoop } from './human-in-the-loop';
import type {
  ApprovalRequest,
  ControlRequest,
  DisconnectInfo,
  ErrorEventHandler,
  ReconnectAttempt,
  SendOptions,
  WSClientOptions,
} from './options';
import { type CompleteData, ReactiveClient, reported } from './reactive-client';
import { othersRefusal } from './others-refusal';
import { MESSAGE_TOO_BIG } from './wire';

/** What a control is answered with: a `status` message, or a `history` message for the history controls. */
export type ControlAnswer = ServerMessageOf<'status'> | ServerMessageOf<'history'>;

/** One page of the user's conversations, the most recently updated first. */
export interface ConversationPage {
  readonly conversations: ConversationSummary[];
  /** Pass it to `listConversations` for the next page; absent on the last. */
  readonly nextCursor?: string;
}

/** The answer of type `type` to a request, or its `error` as a {@link ServerError}. */
const answerOf =
  <K extends ServerMessageType>(type: K): OperatorFunction<ServerMessage, ServerMessageOf<K>> =>
  (messages$) =>
    messages$.pipe(
      filter((message) => {
        if (message.type === 'error') throw serverErrorOf(message);
        return message.type === type;
      }),
      map((message) => message as ServerMessageOf<K>),
      take(1),
    );

/**
 * A client for an llm-ws server. Everything of {@link ReactiveClient} (typed observables,
 * `send()`, resumable reconnects, `sendMessage()`) plus the controls, conversations and branches,
 * approvals and client tools (with the `humanInTheLoop` option), and the callback API, each
 * callback a thin subscription to one of the observables that returns its unsubscribe.
 *
 * ```ts
 * const client = new WSClient({ url: 'ws://localhost:3000/ws' });
 * client.onLLMChunk(({ chunk }) => render(chunk));
 * await client.connect();
 * const { fullText } = await client.sendMessage('Hello');
 * ```
 */
export class WSClient extends ReactiveClient {
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

  constructor(options: WSClientOptions) {
    super(options);
    this.toolCalls$ = this.dataOf('tool_call');
    this.toolResults$ = this.dataOf('tool_result');
    this.reasoning$ = this.dataOf('llm_reasoning');
    this.wire.shapes = serverMessageDataShapes;
    this.wire.notOurs = (message) => othersRefusal(message, (requestId) => this.wire.ours(requestId));
    const loop = this.options.humanInTheLoop?.({
      tools: this.options.tools ?? [],
      maxToolResultBytes: this.options.maxToolResultBytes ?? DEFAULT_MAX_CLIENT_TOOL_RESULT_BYTES,
      write: (text) => this.write({ text, requestId: undefined }) === 'sent',
      nextId: () => this.nextId(),
      ours: (requestId) => this.wire.outbox.has(requestId),
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
  }

  /** The `tools` option's, without their `execute`: the server offers them for each message's reply only. */
  protected override clientTools(): ClientToolDeclaration[] {
    return (this.options.tools ?? []).map(({ name, description, parameters }) => ({ name, description, parameters }));
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

  /**
   * One page of the user's conversations (the principal's: with no authentication, every user of
   * the server shares one list), the most recently updated first. Rejects with a `ServerError`
   * `conversations_unsupported` when the server's store cannot list them (a custom store without a catalog).
   */
  listConversations(page: { limit?: number; cursor?: string } = {}): Promise<ConversationPage> {
    const data = {
      ...(page.limit === undefined ? {} : { limit: page.limit }),
      ...(page.cursor ? { cursor: page.cursor } : {}),
    };
    return this.conversationRequest(
      (id) => ({ type: 'list_conversations', id, ...(Object.keys(data).length > 0 ? { data } : {}) }),
      'conversations',
      'the conversation list',
    ).then(({ data: { conversations, nextCursor } }) => ({ conversations, ...(nextCursor ? { nextCursor } : {}) }));
  }

  /**
   * Moves this client to conversation `id` (one of `listConversations`): what it sends from now
   * on goes there, a reconnect resumes it, and it resolves with its history. Rejects with a
   * `ServerError` `conversation_not_found` for none of the user's.
   */
  openConversation(id: string): Promise<HistoryMessage[]> {
    return this.conversationRequest(
      (requestId) => ({ type: 'open_conversation', id: requestId, data: { conversationId: id } }),
      'history',
      'opening the conversation',
    ).then((answer) => answer.data.messages);
  }

  /** Gives conversation `id` a title (1 to 200 characters). */
  renameConversation(id: string, title: string): Promise<void> {
    return this.conversationRequest(
      (requestId) => ({ type: 'rename_conversation', id: requestId, data: { conversationId: id, title } }),
      'conversation_updated',
      'renaming the conversation',
    ).then(() => undefined);
  }

  /** Deletes conversation `id` from the server, its history and records in every store. */
  deleteConversation(id: string): Promise<void> {
    return this.conversationRequest(
      (requestId) => ({ type: 'delete_conversation', id: requestId, data: { conversationId: id } }),
      'conversation_updated',
      'deleting the conversation',
    ).then(() => undefined);
  }

  private conversationRequest<K extends ServerMessageType>(
    build: (id: string) => ClientMessage,
    answer: K,
    what: string,
  ): Promise<ServerMessageOf<K>> {
    return reported(
      lastValueFrom(
        this.exchange(build, answerOf(answer), {
          timeoutMs: this.options.timeout,
          what,
          timedOut: `no answer to ${what}`,
        }),
      ),
    );
  }

  /**
   * Answers the last user message again: the new answer is a branch beside the one before (the
   * history's `siblingIds` list both). Streams like {@link send}.
   */
  regenerate(options?: Omit<SendOptions, 'editOf' | 'regenerate'>): Observable<ReplyEvent> {
    return this.send('', { ...options, regenerate: true });
  }

  /**
   * Edits user message `messageId` of the active branch: `text` starts a new branch beside it and
   * is answered; the old branch stays ({@link switchBranch} goes back). Streams like {@link send}.
   */
  editMessage(
    messageId: string,
    text: string,
    options?: Omit<SendOptions, 'editOf' | 'regenerate'>,
  ): Observable<ReplyEvent> {
    return this.send(text, { ...options, editOf: messageId });
  }

  /**
   * Makes the branch of message `messageId` (one of a message's `siblingIds`) the active one, down
   * to its newest message; resolves with the history then. Refused `busy` while a reply runs,
   * `invalid_message` for an id the conversation does not have.
   */
  switchBranch(messageId: string): Promise<HistoryMessage[]> {
    return this.sendControl({ type: 'control', data: { type: 'switch_branch', messageId } }).then((answer) =>
      answer.type === 'history' ? answer.data.messages : [],
    );
  }

  /** Calls back each time the server greets a connection. Returns an unsubscribe function. */
  onConnected(callback: (info: { sessionId: string }) => void): () => void {
    return this.on(this.status$.pipe(filter((status) => status === 'connected')), () =>
      callback({ sessionId: this.sessionId as string }),
    );
  }

  /** Calls back each time a connection ends. Returns an unsubscribe function. */
  onDisconnected(callback: (info: DisconnectInfo) => void): () => void {
    return this.on(this.disconnected$, callback);
  }

  /** Calls back before each reconnect attempt. Returns an unsubscribe function. */
  onReconnecting(callback: (attempt: ReconnectAttempt) => void): () => void {
    return this.on(this.reconnecting$, callback);
  }

  /**
   * Calls back for every error, once: server `error` messages, undecodable frames, connection
   * failures, and requests the client refused (`not_connected`, `queue_full`, `request_timeout`),
   * also those of calls nobody awaited. Returns an unsubscribe function.
   */
  onError(callback: ErrorEventHandler): () => void {
    return this.on(this.errors$, callback);
  }

  /**
   * Calls back for what went wrong on the wire: the server's `error` messages (a
   * {@link ServerError}: `{ code, message, requestId, retryable }`), frames that failed to
   * decode, and connection failures. Not for requests the client refused on its own side
   * ({@link ClientError}s, which {@link onError} reports). Returns an unsubscribe function.
   */
  onCommunicationError(callback: ErrorEventHandler): () => void {
    return this.on(this.errors$.pipe(filter((error) => !(error instanceof ClientError))), callback);
  }

  /** Calls back for each chunk of any reply. Returns an unsubscribe function. */
  onLLMChunk(callback: (chunk: ServerMessageOf<'llm_chunk'>['data']) => void): () => void {
    return this.on(this.chunks$, callback);
  }

  /** Calls back for each finished reply. Returns an unsubscribe function. */
  onLLMComplete(callback: (complete: CompleteData) => void): () => void {
    return this.on(this.completions$, callback);
  }

  /** Calls back once per tool call, when it starts. Returns an unsubscribe function. */
  onToolCall(callback: (call: ServerMessageOf<'tool_call'>['data']) => void): () => void {
    return this.on(this.toolCalls$.pipe(filter((call) => call.status === 'start')), callback);
  }

  /** Calls back for each piece of the model's reasoning, of any reply. Returns an unsubscribe function. */
  onReasoningChunk(callback: (reasoning: ServerMessageOf<'llm_reasoning'>['data']) => void): () => void {
    return this.on(this.reasoning$, callback);
  }

  /**
   * Answers each tool call that waits for approval with what `handler` says: `true` approves,
   * `false` denies. A boolean is sent at once; a Promise when it resolves; an Observable with its
   * first value, on its own schedule (virtual time in a TestScheduler). A handler that throws,
   * rejects or errors leaves the call waiting (for {@link approve}, {@link deny}, or the server's
   * timeout). Returns an unsubscribe function.
   */
  onToolApproval(handler: (request: ApprovalRequest) => boolean | Promise<boolean> | Observable<boolean>): () => void {
    return this.on(this.toolCalls$.pipe(filter((call) => call.status === 'approval_required')), (call) => {
      const decide = (approved: boolean): void =>
        approved ? this.approve(call.toolCallId) : this.deny(call.toolCallId);
      const failed = (error: unknown): void => console.error('llm-ws: an onToolApproval handler failed', error);
      const answer = handler({ ...call });
      if (typeof answer === 'boolean') return decide(answer);
      if (answer instanceof Observable) {
        answer.pipe(take(1)).subscribe({ next: decide, error: failed });
        return;
      }
      Promise.resolve(answer).then(decide, failed);
    });
  }

  /** Calls back once per tool call, when it completes or fails (`error` set). Returns an unsubscribe function. */
  onToolResult(callback: (result: ServerMessageOf<'tool_result'>['data']) => void): () => void {
    return this.on(this.toolResults$, callback);
  }

  /** Calls back when the session's status changes (idle, thinking, ...), and only then. Returns an unsubscribe function. */
  onStatusChange(callback: (status: SessionStatus) => void): () => void {
    // sessionStatus$ replays the current status: that is no change.
    return this.on(
      new Observable<SessionStatus>((subscriber) =>
        this.sessionStatus$.pipe(skip(this.sessionState.value === undefined ? 0 : 1)).subscribe(subscriber),
      ),
      callback,
    );
  }

  private on<T>(source$: Observable<T>, callback: (value: T) => void): () => void {
    const subscription = source$.subscribe((value) => {
      // A throwing callback must not break the stream for the other listeners.
      try {
        callback(value);
      } catch (error) {
        console.error('llm-ws: a client callback threw', error);
      }
    });
    return () => subscription.unsubscribe();
  }
}
