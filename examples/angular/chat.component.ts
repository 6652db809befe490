/**
 * A chat component on `llm-ws/angular`, signals first: the conversation streams in chunk by
 * chunk with the model's reasoning and the tools it called, tool calls that need the user's yes
 * or no wait with Approve and Deny, failures show their code, and Stop aborts the reply on the
 * server. Every value the template reads is a signal of the chat service (no `toSignal`, no
 * `async` pipe): it works the same with zone.js and zoneless.
 */
import { JsonPipe } from '@angular/common';
import { ChangeDetectionStrategy, Component, signal } from '@angular/core';
import { injectLlmWsChat, type ChatErrorCode } from 'llm-ws/angular';

@Component({
  selector: 'app-chat',
  imports: [JsonPipe],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <header>
      <span class="connection" [attr.data-status]="chat.status()">{{ chat.status() }}</span>
      <span class="session">{{ chat.sessionStatus() }}</span>
    </header>
    <ol class="messages">
      @for (message of chat.messages(); track message.id) {
        <li [class]="message.role" [attr.data-status]="message.status">
          @if (message.reasoning) {
            <details class="reasoning">
              <summary>Reasoning</summary>
              {{ message.reasoning }}
            </details>
          }
          @for (call of message.toolCalls; track call.id) {
            <div class="tool" [attr.data-status]="call.status">
              {{ call.name }}({{ call.args | json }})
              @if (call.status === 'complete') {
                → {{ call.result | json }}
              } @else if (call.status === 'error' || call.status === 'denied') {
                {{ call.status }}: {{ call.error }}
              }
            </div>
          }
          <div class="text">{{ message.text }}</div>
          @if (message.error; as error) {
            <div class="error" [attr.data-code]="error.code">{{ describe(error.code) }}: {{ error.message }}</div>
          }
        </li>
      }
    </ol>
    @for (request of chat.approvals(); track request.toolCallId) {
      <div class="approval">
        Run {{ request.toolName }}({{ request.args | json }})?
        <button type="button" class="approve" (click)="chat.approve(request.toolCallId)">Approve</button>
        <button type="button" class="deny" (click)="chat.deny(request.toolCallId, 'the user said no')">Deny</button>
      </div>
    }
    <form (submit)="$event.preventDefault(); send(input)">
      <input #input name="text" placeholder="Ask something" autocomplete="off" />
      <button type="submit" class="send" [disabled]="chat.busy()">Send</button>
      <button type="button" class="stop" [disabled]="!chat.busy()" (click)="chat.abort()">Stop</button>
      <button type="button" class="clear" (click)="clear()">Clear</button>
    </form>
    @if (clearError() ?? chat.lastError(); as error) {
      <p class="last-error" [attr.data-code]="error.code">{{ error.message }}</p>
    }
  `,
})
export class ChatComponent {
  protected readonly chat = injectLlmWsChat();
  protected readonly clearError = signal<{ code: string; message: string } | undefined>(undefined);

  protected send(input: HTMLInputElement): void {
    const text = input.value.trim();
    if (!text) return;
    input.value = '';
    this.clearError.set(undefined);
    // Fire and forget: the reply streams into messages(), a failure lands on its message.
    this.chat.send(text);
  }

  protected clear(): void {
    this.chat
      .clear()
      .catch((error: { code: string; message: string }) =>
        this.clearError.set({ code: error.code, message: error.message }),
      );
  }

  /** A word for the codes a user can act on; the code itself for the rest. */
  protected describe(code: ChatErrorCode): string {
    switch (code) {
      case 'rate_limited':
        return 'Too many requests, try again shortly';
      case 'reconnect_failed':
      case 'connection_lost':
        return 'Cannot reach the server';
      default:
        return code;
    }
  }
}
