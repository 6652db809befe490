/**
 * Components of the TestBed specs, beside the example's ChatComponent. ngc compiles them with
 * strictTemplates (test/angular/ngc.test.ts), the specs run them in Chromium (testbed.test.ts).
 */
import { AsyncPipe } from '@angular/common';
import { Component, inject, InjectionToken, signal } from '@angular/core';
import { LlmWsChat, provideLlmWs } from 'llm-ws/angular';
import { ChatComponent } from '../../../examples/angular/chat.component';

/** The test server's WebSocket URL. */
export const SERVER_URL = new InjectionToken<string>('SERVER_URL');

/** The example chat with its own llm-ws connection: destroying this component disconnects it. */
@Component({
  selector: 'own-chat',
  imports: [ChatComponent],
  providers: [provideLlmWs(() => ({ url: inject(SERVER_URL), heartbeatInterval: 1000 }))],
  template: `<app-chat />`,
})
export class OwnChatComponent {}

/** Shows the connection status only once asked to: a template that subscribes late. */
@Component({
  selector: 'late-status',
  imports: [AsyncPipe],
  template: `
    @if (shown()) {
      <span class="late-status">{{ chat.status$ | async }}</span>
      <span class="late-count">{{ (chat.messages$ | async)?.length }}</span>
    }
  `,
})
export class LateStatusComponent {
  readonly chat = inject(LlmWsChat);
  readonly shown = signal(false);
}
