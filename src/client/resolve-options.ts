import { asyncScheduler } from 'rxjs';
import {
  DEFAULT_CLIENT_HEARTBEAT_INTERVAL_MS,
  DEFAULT_MAX_QUEUE_SIZE,
  DEFAULT_MAX_RECONNECT_DELAY_MS,
  DEFAULT_QUEUE_TIMEOUT_MS,
  DEFAULT_RECONNECT_ATTEMPTS,
  DEFAULT_RECONNECT_DELAY_MS,
  DEFAULT_RECONNECT_JITTER,
  DEFAULT_TIMEOUT_MS,
  type WSClientOptions,
} from './options';
import { validateClientOptions } from './validate-options';

type Optional =
  | 'protocols'
  | 'WebSocketCtor'
  | 'replyTimeoutMs'
  | 'tools'
  | 'session'
  | 'share'
  | 'maxToolResultBytes'
  | 'traceContext'
  | 'humanInTheLoop';

/** A client's options with every default filled in. */
export type ResolvedOptions = Required<Omit<WSClientOptions, Optional>> & Pick<WSClientOptions, Optional>;

/** Checks a client's options (throwing `invalid_options`) and fills in the defaults. */
export function resolveClientOptions(options: WSClientOptions): ResolvedOptions {
  validateClientOptions(options);
  return {
    reconnectAttempts: DEFAULT_RECONNECT_ATTEMPTS,
    reconnectDelay: DEFAULT_RECONNECT_DELAY_MS,
    maxReconnectDelay: DEFAULT_MAX_RECONNECT_DELAY_MS,
    reconnectJitter: DEFAULT_RECONNECT_JITTER,
    heartbeatInterval: DEFAULT_CLIENT_HEARTBEAT_INTERVAL_MS,
    timeout: DEFAULT_TIMEOUT_MS,
    maxQueueSize: DEFAULT_MAX_QUEUE_SIZE,
    queueTimeoutMs: DEFAULT_QUEUE_TIMEOUT_MS,
    scheduler: asyncScheduler,
    random: Math.random,
    ...options,
  };
}
