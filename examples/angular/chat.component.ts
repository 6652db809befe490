/**
 * A chat component on `llm-ws/angular`: the conversation streams in chunk by chunk, with the
 * tools the model called; Stop aborts the reply on the server. It reads the service both ways
 * Angular offers: signals (`toSignal`) and the `async` pipe.
 */
import { AsyncPipe, JsonPipe } from '@angular/common';
import { ChangeDetectionStrategy, Component, inject, signal } from '@angular/core';
import { toSignal } from '@angular/core/rxjs-interop';
import { LlmWsChat } from 'llm-ws/angular';

@Component({
  selector: 'app-chat',
  imports: [AsyncPipe, JsonPipe],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <header>
      <span class="connection" [attr.data-status]="status()">{{ status() }}</span>
      <span class="session">{{ chat.sessionStatus$ | async }}</span>
    </header>
    <ol class="messages">
      @for (message of messages(); track message.id) {
        <li [class]="message.role" [attr.data-status]="message.status">
          @for (call of message.toolCalls; track call.id) {
            <div class="tool" [attr.data-status]="call.status">
              {{ call.name }}({{ call.args | json }})
              @if (call.status === 'complete') {
                → {{ call.result | json }}
              } @else if (call.status === 'error') {
                failed: {{ call.error }}
              }
            </div>
          }
          <div class="text">{{ message.text }}</div>
          @if (message.error; as error) {
            <div class="error" [attr.data-code]="error.code">{{ error.message }}</div>
          }
        </li>
      }
    </ol>
    <form (submit)="$event.preventDefault(); send(input)">
      <input #input name="text" placeholder="Ask something" autocomplete="off" />
      <button type="submit" class="send" [disabled]="busy()">Send</button>
      <button type="button" class="stop" [disabled]="!busy()" (click)="chat.abort()">Stop</button>
      <button type="button" class="clear" (click)="clear()">Clear</button>
    </form>
    @if (lastError(); as error) {
      <p class="last-error" [attr.data-code]="error.code">{{ error.message }}</p>
    }
  `,
})
export class ChatComponent {
  protected readonly chat = inject(LlmWsChat);
  // The state streams replay their current value at once, so requireSync holds.
  protected readonly status = toSignal(this.chat.status$, { requireSync: true });
  protected readonly messages = toSignal(this.chat.messages$, { requireSync: true });
  protected readonly busy = toSignal(this.chat.busy$, { requireSync: true });
  protected readonly lastError = signal<{ code: string; message: string } | undefined>(undefined);

  protected send(input: HTMLInputElement): void {
    const text = input.value.trim();
    if (!text) return;
    input.value = '';
    this.lastError.set(undefined);
    // Fire and forget: the reply streams into messages$, failures land on its message.
    this.chat.send(text);
  }

  protected clear(): void {
    this.chat
      .clear()
      .catch((error: { code: string; message: string }) =>
        this.lastError.set({ code: error.code, message: error.message }),
      );
  }
}
