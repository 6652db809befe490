import type { Provider } from '@angular/core';
import { LlmWsChat } from './chat';
import { LLM_WS_OPTIONS, type LlmWsOptions } from './options';

/**
 * Registers llm-ws with Angular's dependency injection: the options under
 * {@link LLM_WS_OPTIONS} and the {@link LlmWsChat} service.
 *
 * In `bootstrapApplication`'s providers (or `ApplicationConfig.providers`) one chat lives as long
 * as the application; in a component's `providers` each instance of the component gets its own
 * chat, disconnected when the component is destroyed.
 *
 * `options` may be a function: it runs in an injection context, so it can `inject()` what it
 * needs (a config service, `DOCUMENT` to derive the URL from the page's address).
 *
 * ```ts
 * bootstrapApplication(AppComponent, {
 *   providers: [provideLlmWs({ url: 'wss://chat.example.com/ws' })],
 * });
 * ```
 */
export function provideLlmWs(options: LlmWsOptions | (() => LlmWsOptions)): Provider[] {
  return [
    typeof options === 'function'
      ? { provide: LLM_WS_OPTIONS, useFactory: options }
      : { provide: LLM_WS_OPTIONS, useValue: options },
    // A factory, not a decorated class: the entry needs no Angular compiler to be built or used.
    { provide: LlmWsChat, useFactory: () => new LlmWsChat() },
  ];
}
