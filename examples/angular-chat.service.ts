/**
 * An Angular-style service that exposes the client's observables to components.
 *
 * In an Angular app, add `@Injectable({ providedIn: 'root' })` above the class and inject it;
 * components bind with the async pipe: `*ngFor="let m of chat.messages$ | async"`. It is plain
 * TypeScript here so it compiles without Angular. In the browser, import from 'llm-ws/client'.
 */
import { BehaviorSubject, type Observable, map, scan, shareReplay, startWith, type Subscription } from 'rxjs';
import { type ConnectionStatus, type ReplyEvent, WSClient, type WSClientOptions } from 'llm-ws/client';

/** One line of the chat as a component shows it. */
export interface ChatLine {
  readonly id: string;
  readonly role: 'user' | 'assistant' | 'tool';
  readonly text: string;
  /** Still streaming. */
  readonly pending: boolean;
}

type LineUpdate = { kind: 'add'; line: ChatLine } | { kind: 'append'; id: string; text: string } | { kind: 'done'; id: string };

export class ChatService {
  /** Connection state for a status badge. */
  readonly connection$: Observable<ConnectionStatus>;
  /** True while the assistant is working on a reply. */
  readonly typing$: Observable<boolean>;
  /** The conversation, updated chunk by chunk. */
  readonly messages$: Observable<readonly ChatLine[]>;

  private readonly client: WSClient;
  private readonly updates = new BehaviorSubject<LineUpdate | undefined>(undefined);
  private running: { subscription: Subscription; replyId: string } | undefined;

  constructor(options: WSClientOptions = { url: 'ws://localhost:3000/ws' }) {
    this.client = new WSClient(options);
    this.connection$ = this.client.status$;
    this.typing$ = this.client.sessionStatus$.pipe(
      map((status) => status !== 'idle' && status !== 'paused'),
      startWith(false),
    );
    this.messages$ = this.updates.pipe(
      scan((lines: readonly ChatLine[], update) => (update ? applyUpdate(lines, update) : lines), []),
      shareReplay({ bufferSize: 1, refCount: true }),
    );
    void this.client.connect();
  }

  /** Sends the user's text; the reply streams into `messages$`. */
  send(text: string): void {
    this.stop();
    const userId = `u${Date.now()}`;
    const replyId = `a${Date.now()}`;
    this.updates.next({ kind: 'add', line: { id: userId, role: 'user', text, pending: false } });
    this.updates.next({ kind: 'add', line: { id: replyId, role: 'assistant', text: '', pending: true } });
    const subscription = this.client.send(text).subscribe({
      next: (event: ReplyEvent) => {
        if (event.type === 'llm_chunk') this.updates.next({ kind: 'append', id: replyId, text: event.data.chunk });
        if (event.type === 'tool_result') {
          const shown = event.data.error ?? JSON.stringify(event.data.result);
          this.updates.next({ kind: 'add', line: { id: event.data.toolCallId, role: 'tool', text: `${event.data.toolName}: ${shown}`, pending: false } });
        }
      },
      error: (error: Error) => {
        this.updates.next({ kind: 'append', id: replyId, text: `\n[${error.message}]` });
        this.updates.next({ kind: 'done', id: replyId });
      },
      complete: () => this.updates.next({ kind: 'done', id: replyId }),
    });
    this.running = { subscription, replyId };
  }

  /** The Stop button: unsubscribing aborts the reply on the server. */
  stop(): void {
    if (!this.running) return;
    this.running.subscription.unsubscribe();
    this.updates.next({ kind: 'done', id: this.running.replyId });
    this.running = undefined;
  }

  /** For `ngOnDestroy`. */
  dispose(): void {
    this.stop();
    this.client.disconnect();
  }
}

function applyUpdate(lines: readonly ChatLine[], update: LineUpdate): readonly ChatLine[] {
  switch (update.kind) {
    case 'add':
      return [...lines, update.line];
    case 'append':
      return lines.map((line) => (line.id === update.id ? { ...line, text: line.text + update.text } : line));
    case 'done':
      return lines.map((line) => (line.id === update.id ? { ...line, pending: false } : line));
  }
}
