/**
 * `LlmWsAgent`: an AG-UI agent (`AbstractAgent` of `@ag-ui/client`) over llm-ws's WebSocket.
 * Browser-safe: it talks through a {@link WSClient} the app gives it, so a
 * dropped connection reconnects and resumes the running reply (every delta once) under the run.
 * The reply is told in AG-UI events by the same mapping as the `POST /ag-ui` endpoint.
 */
import { AbstractAgent, type AgentConfig, type BaseEvent, type RunAgentInput } from '@ag-ui/client';
import { Observable, type Subscriber, type Subscription } from 'rxjs';
import type { WSClient } from '../client/ws-client';
import type { ReplyEvent } from '../protocol/codecs';
import { AgUiRun, agUiText, type AgUiEvent } from '../interop/ag-ui-events';
import { ReplyChunker, uiFinishReason } from '../interop/reply-chunks';

/** The Observable `AbstractAgent.run` returns (of the rxjs `@ag-ui/client` depends on). */
export type AgUiObservable = ReturnType<AbstractAgent['run']>;

/** Settings of {@link LlmWsAgent}: AG-UI's `AgentConfig` and the llm-ws client to run over. */
export interface LlmWsAgentConfig extends AgentConfig {
  /**
   * The client whose session holds the thread's conversation (`WSClient` of `llm-ws/client`, or
   * of `llm-ws` in Node). Connect it before the first run; the agent never disconnects it.
   */
  readonly client: WSClient;
}

/** What a run streams to: the run's subscriber and its events, while it is attached to a reply. */
interface Attached {
  readonly run: AgUiRun;
  readonly subscriber: Subscriber<BaseEvent>;
}

/** One llm-ws reply, which outlives a run when it pauses for approvals (the next run resumes it). */
class LiveReply {
  readonly chunker = new ReplyChunker();
  subscription: Subscription | undefined;
  private attached: Attached | undefined;
  private settleTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    /** Called when the reply pauses for approvals (true) or ends (false). */
    private readonly onRest: (reply: LiveReply, paused: boolean) => void,
  ) {}

  /** Sends the message (once a run is attached: a refusal such as `not_connected` fails that run). */
  start(reply$: Observable<ReplyEvent>): void {
    this.subscription = reply$.subscribe({
      next: (message) => this.message(message),
      error: (error: unknown) => {
        const { code = 'internal_error', message = String(error) } = error as { code?: string; message?: string };
        this.emit(this.attached?.run.failed(`${code}: ${message}`));
        this.onRest(this, false);
      },
    });
  }

  /** Streams the reply's events to a run from now on. */
  attach(attached: Attached): void {
    this.attached = attached;
  }

  /** Stops streaming to the run; the reply goes on (paused) or is aborted by the caller. */
  detach(): void {
    this.attached = undefined;
    clearTimeout(this.settleTimer);
  }

  private message(message: ReplyEvent): void {
    const awaiting = this.chunker.awaiting.size;
    const run = this.attached?.run;
    for (const chunk of this.chunker.push(message)) this.emit(run?.chunk(chunk));
    if (message.type === 'llm_complete') {
      this.emit(run?.chunk({ type: 'finish', finishReason: uiFinishReason(message.data.finishReason) }));
      this.onRest(this, false);
      return;
    }
    // A round's approvals come one message each, together: the run ends after the last of them
    // (as the HTTP endpoint's does), on a later task.
    if (this.chunker.awaiting.size > awaiting && this.settleTimer === undefined) {
      this.settleTimer = setTimeout(() => this.settle(), 0);
    }
  }

  private settle(): void {
    this.settleTimer = undefined;
    const run = this.attached?.run;
    if (this.chunker.awaiting.size === 0 || run === undefined) return;
    for (const chunk of this.chunker.finishStep()) this.emit(run.chunk(chunk));
    this.emit(run.chunk({ type: 'finish', finishReason: 'tool-calls' }));
    this.onRest(this, true);
  }

  private emit(events: AgUiEvent[] | undefined): void {
    const attached = this.attached;
    if (attached === undefined || events === undefined) return;
    for (const event of events) attached.subscriber.next(event as unknown as BaseEvent);
    if (attached.run.ended) {
      this.detach();
      attached.subscriber.complete();
    }
  }
}

/**
 * An AG-UI agent whose runs are llm-ws replies over a WebSocket: the conversation is the
 * client's session (the server keeps its history, so a run sends only the new user message),
 * a dropped connection resumes the run where it was, approvals end a run with an `interrupt`
 * outcome (id: the tool call's) that the next run answers with `resume` entries
 * (`status: 'resolved'` approves unless `payload.approved` is false; `'cancelled'` denies, with
 * `payload.reason`). Unsubscribing a run (`abortRun()`) aborts the reply and its model request.
 *
 * ```ts
 * const client = new WSClient({ url: 'wss://example.com/ws', humanInTheLoop }); // approvals become interrupts
 * await client.connect();
 * const agent = new LlmWsAgent({ client });
 * agent.addMessage({ id: '1', role: 'user', content: 'Hello' });
 * await agent.runAgent();
 * ```
 */
export class LlmWsAgent extends AbstractAgent {
  /** The client the runs go over. */
  readonly client: WSClient;
  /** The reply paused for approvals, which the next run's `resume` entries answer. */
  private paused: LiveReply | undefined;

  constructor({ client, ...config }: LlmWsAgentConfig) {
    super(config);
    this.client = client;
  }

  /** The run as AG-UI events: `RUN_STARTED`, the reply's events, then `RUN_FINISHED` or `RUN_ERROR`. */
  run(input: RunAgentInput): AgUiObservable {
    // @ag-ui/client pins its own rxjs (7.8.1): the types differ by a protected field, the
    // Observables interoperate (AbstractAgent pipes this one through its operators).
    return this.events(input) as unknown as AgUiObservable;
  }

  private events(input: RunAgentInput): Observable<BaseEvent> {
    return new Observable<BaseEvent>((subscriber) => {
      const run = new AgUiRun(input.threadId, input.runId);
      subscriber.next(run.started() as unknown as BaseEvent);
      const fail = (errorText: string): void => {
        for (const event of run.failed(errorText)) subscriber.next(event as unknown as BaseEvent);
        subscriber.complete();
      };
      const resume = input.resume ?? [];
      let reply: LiveReply;
      let text: string | undefined;
      if (resume.length > 0) {
        if (this.paused === undefined) {
          fail('unknown_tool_call: no reply waits for approvals in this thread');
          return undefined;
        }
        reply = this.paused;
        this.paused = undefined;
      } else {
        if (this.paused !== undefined) {
          fail('invalid_message: the last run ended with interrupts: answer them with resume entries');
          return undefined;
        }
        const last = input.messages.at(-1);
        if (last?.role !== 'user') {
          fail('invalid_message: the last message must be the user message to answer (or give resume entries)');
          return undefined;
        }
        text = agUiText(last.content);
        reply = new LiveReply((of, paused) => {
          if (paused) this.paused = of;
          else if (this.paused === of) this.paused = undefined;
        });
      }
      reply.attach({ run, subscriber });
      if (text !== undefined) reply.start(this.client.send(text));
      for (const entry of resume) {
        const payload = entry.payload as { approved?: unknown; reason?: unknown } | undefined;
        if (entry.status === 'resolved' && payload?.approved !== false) this.client.approve(entry.interruptId);
        else this.client.deny(entry.interruptId, typeof payload?.reason === 'string' ? payload.reason : undefined);
      }
      return () => {
        reply.detach();
        // A run given up before its end (abortRun) stops the reply; one paused for approvals waits.
        if (!run.ended && this.paused !== reply) reply.subscription?.unsubscribe();
      };
    });
  }

  /** Stops the running run: its reply is aborted on the server, and the model request with it. */
  override abortRun(): void {
    // AbstractAgent leaves aborting to its transports; detaching unsubscribes `run`'s Observable.
    void this.detachActiveRun();
    super.abortRun();
  }

  /** A new agent on the same client, with this one's messages and state (AG-UI's `clone`). */
  override clone(): LlmWsAgent {
    const copy = super.clone() as LlmWsAgent;
    (copy as { client: WSClient }).client = this.client;
    return copy;
  }
}
