import { InjectionToken } from '@angular/core';
import type { WSClientOptions } from '../client/options';

/** Whether {@link LlmWsChat} connects as soon as it is created, unless configured. */
export const DEFAULT_AUTO_CONNECT = true;

/**
 * Settings of {@link provideLlmWs}: every option of the client (`url` is required; reconnects,
 * heartbeats, timeouts as in `WSClientOptions`) plus `autoConnect`.
 */
export interface LlmWsOptions extends WSClientOptions {
  /**
   * Connect when the chat service is created. With `false`, call `connect()` yourself
   * (for example after sign-in). Never connects on the server platform (SSR) either way.
   * @default DEFAULT_AUTO_CONNECT
   */
  readonly autoConnect?: boolean;
}

/**
 * The options {@link provideLlmWs} registered, read by {@link LlmWsChat}. Provide it yourself
 * (for example with `useFactory`) only if you need options that `provideLlmWs` cannot express.
 */
export const LLM_WS_OPTIONS = new InjectionToken<LlmWsOptions>('LLM_WS_OPTIONS');
