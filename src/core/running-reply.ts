/**
 * The reply a session runs now: its abort and pause switches, the status it last sent, and the
 * subscription that runs it (frames held while paused).
 */
import { BehaviorSubject, Observable, Subject, type Subscription } from 'rxjs';
import { holdWhilePaused } from '../operators/hold-while-paused';
import type {
  ClientToolResultMessage,
  ServerMessageInput,
  SessionStatus,
  ToolApprovalMessage,
} from '../protocol/codecs';
import { type ReplyAnswers, type ReplyContext, runReply } from './reply';
import type { ReplyEnding, ReplyTrace } from './telemetry';

/** An answer from the client, to one tool call. */
type Answer = ToolApprovalMessage | ClientToolResultMessage;

/** An answer the reply waits for, by tool call id: of which type, and where it goes. */
interface Wait {
  readonly type: Answer['type'];
  readonly deliver: (answer: Answer['data']) => void;
}

/** Where a running reply's frames go, and who hears how it ends. */
export interface ReplySink {
  /** One frame of the reply, for the session's stream. */
  send(frame: ServerMessageInput): void;
  /** `send` threw: the reply has been stopped. */
  failed(error: unknown): void;
  /** The reply finished (completed, failed or aborted); its last frame has been sent. */
  ended(): void;
}

/** One running reply of a session. */
export class RunningReply {
  private readonly abort$ = new Subject<void>();
  private readonly paused$ = new BehaviorSubject(false);
  private subscription: Subscription | undefined;
  /** The last `status` of this reply that went out (held frames have not): what `resume` answers with. */
  status: SessionStatus = 'idle';
  /** Set once the store failed under this reply, so it is told only once. */
  storeFailed = false;
  /** What the reply waits for from the client; created on the first wait. */
  private waits: Map<string, Wait> | undefined;
  /** How the reply's tool round waits for the client's answers. */
  private readonly answers: ReplyAnswers = {
    approval: (toolCallId) => this.waitFor('tool_approval', toolCallId) as Observable<ToolApprovalMessage['data']>,
    result: (toolCallId) => this.waitFor('tool_result', toolCallId),
  };

  constructor(
    /** The `user_message` id. */
    readonly requestId: string,
    /** What the reply does when its connection drops. */
    readonly onDisconnect: 'continue' | 'cancel',
  ) {}

  get paused(): boolean {
    return this.paused$.value;
  }

  /** Runs the reply with `context`; its frames go to `sink` (held while paused); `trace` hears how it ended. */
  start(context: Omit<ReplyContext, 'abort$' | 'answers'>, sink: ReplySink, trace?: ReplyTrace): void {
    let ending: ReplyEnding | undefined;
    this.trace = trace;
    if (trace) {
      // Ended once: on the reply's completion, or when it is stopped before that.
      this.endTrace = () => {
        this.endTrace = undefined;
        trace.end(ending ?? { type: 'stopped' });
      };
    }
    this.subscription = runReply({ ...context, abort$: this.abort$, answers: this.answers })
      .pipe(holdWhilePaused(this.paused$))
      .subscribe({
        next: (frame) => {
          if (frame.type === 'status') this.status = frame.data.status;
          else if (trace && frame.type === 'llm_complete') ending = { type: 'complete', data: frame.data };
          else if (trace && frame.type === 'error')
            ending = { type: 'error', code: frame.data.code, message: frame.data.message };
          // A throw here would escape to RxJS's unhandled-error path and end the process: it ends this reply instead.
          try {
            sink.send(frame);
          } catch (error) {
            this.stop();
            sink.failed(error);
          }
        },
        complete: () => {
          this.endTrace?.();
          sink.ended();
        },
      });
  }

  /** The reply's trace, told of its waits for the client. */
  private trace: ReplyTrace | undefined;
  /** Ends the reply's trace, once (set while a trace is open). */
  private endTrace: (() => void) | undefined;

  /** Ends the reply with `llm_complete` aborted: held frames go out first, so the client's text stays whole. */
  abort(): void {
    this.paused$.next(false);
    this.abort$.next();
  }

  /** Pauses or resumes (idempotent); a resume releases the held frames synchronously. */
  setPaused(pause: boolean): void {
    if (this.paused$.value !== pause) this.paused$.next(pause);
  }

  /**
   * Hands the client's answer to the tool call that waits for it (the first answer counts).
   * False when none waits for an answer of this type: answered already, timed out, or never asked.
   */
  answer(message: Answer): boolean {
    const { toolCallId } = message.data;
    const wait = this.waits?.get(toolCallId);
    if (wait?.type !== message.type) return false;
    this.waits?.delete(toolCallId);
    wait.deliver(message.data);
    return true;
  }

  private waitFor(type: Answer['type'], toolCallId: string): Observable<Answer['data']> {
    return new Observable((subscriber) => {
      const wait: Wait = { type, deliver: (answer) => subscriber.next(answer) };
      (this.waits ??= new Map()).set(toolCallId, wait);
      const trace = this.trace;
      trace?.waiting?.(type, 1);
      return () => {
        trace?.waiting?.(type, -1);
        if (this.waits?.get(toolCallId) === wait) this.waits.delete(toolCallId);
      };
    });
  }

  /** Stops the reply at once (and with it the model request), sending nothing more. */
  stop(): void {
    this.subscription?.unsubscribe();
    this.endTrace?.();
  }
}
