/**
 * The reply a session runs now: its abort and pause switches, the status it last sent, and the
 * subscription that runs it (frames held while paused).
 */
import { BehaviorSubject, Subject, type Subscription } from 'rxjs';
import { holdWhilePaused } from '../operators/hold-while-paused';
import type { ServerMessageInput, SessionStatus } from '../protocol/codecs';
import { type ReplyContext, runReply } from './reply';

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

  constructor(
    /** The `user_message` id. */
    readonly requestId: string,
    /** What the reply does when its connection drops. */
    readonly onDisconnect: 'continue' | 'cancel',
  ) {}

  get paused(): boolean {
    return this.paused$.value;
  }

  /** Runs the reply with `context`; its frames go to `sink` (held while paused). */
  start(context: Omit<ReplyContext, 'abort$'>, sink: ReplySink): void {
    this.subscription = runReply({ ...context, abort$: this.abort$ })
      .pipe(holdWhilePaused(this.paused$))
      .subscribe({
        next: (frame) => {
          if (frame.type === 'status') this.status = frame.data.status;
          // A throw here would escape to RxJS's unhandled-error path and end the process: it ends this reply instead.
          try {
            sink.send(frame);
          } catch (error) {
            this.stop();
            sink.failed(error);
          }
        },
        complete: () => sink.ended(),
      });
  }

  /** Ends the reply with `llm_complete` aborted: held frames go out first, so the client's text stays whole. */
  abort(): void {
    this.paused$.next(false);
    this.abort$.next();
  }

  /** Pauses or resumes (idempotent); a resume releases the held frames synchronously. */
  setPaused(pause: boolean): void {
    if (this.paused$.value !== pause) this.paused$.next(pause);
  }

  /** Stops the reply at once (and with it the model request), sending nothing more. */
  stop(): void {
    this.subscription?.unsubscribe();
  }
}
