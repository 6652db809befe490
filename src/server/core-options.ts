/**
 * The core's options from a `WSServer`'s: defaults filled in, metrics and events hooked up.
 */
import { memoryAttachmentStore } from '../store/memory-attachments';
import {
  type AttachmentStore,
  DEFAULT_ATTACHMENT_MEDIA_TYPES,
  DEFAULT_MAX_ATTACHMENT_BYTES,
  attachmentBytesFor,
} from '../core/attachments';
import type { Subject } from 'rxjs';
import type { MakeServerOptions, ServerHooks, SharedSessionOptions } from '../core/make-server';
import { providerFromEnvironment } from '../llm/from-environment';
import { memoryStore } from '../store/memory-store';
import { memoryQuotaCounter } from '../store/memory-quota';
import { createUsageLimits, type UsageLimits } from '../core/usage-limits';
import { resolveLogger } from './logger';
import { serverTools } from './server-tools';
import { checkOptions } from './validate-options';
import type { Logger, SessionStore } from '../core/ports';
import { DEFAULT_REPLAY_MAX_MESSAGES, replayMaxBytesFor } from '../core/replay-log';
import {
  DEFAULT_MAX_REPLY_TEXT_BYTES,
  DEFAULT_MAX_TOOL_ARGUMENTS_BYTES,
  DEFAULT_MAX_TOOL_STEPS,
  DEFAULT_UPSTREAM_IDLE_TIMEOUT_MS,
} from '../core/reply';
import type { LLMProvider } from '../llm/types';
import {
  DEFAULT_APPROVAL_TIMEOUT_MS,
  DEFAULT_CLIENT_TOOL_TIMEOUT_MS,
  DEFAULT_MAX_CLIENT_TOOL_RESULT_BYTES,
} from '../tools/client-answers';
import { checkClientTools } from '../tools/client-tools';
import type { ToolRegistry } from '../tools/types';
import type { Telemetry } from '../core/telemetry';
import type { WSServerEvent } from './events';
import type { ServerMetrics } from './metrics';
import {
  DEFAULT_HIGH_WATER_MARK_BYTES,
  DEFAULT_MAX_MESSAGE_LENGTH,
  DEFAULT_MAX_SESSIONS,
  DEFAULT_RATE_LIMIT,
  DEFAULT_SEND_BUFFER_HARD_LIMIT_BYTES,
  DEFAULT_SESSION_MEMORY_BUDGET_BYTES,
  DEFAULT_SESSION_TTL_MS,
  type WSServerOptions,
} from './options';

import { DEFAULT_CONCURRENT_MESSAGES, DEFAULT_MAX_QUEUED_MESSAGES } from '../core/waiting-messages';

/** What a `WSServer` has made already, for the core to use. */
export interface CoreParts {
  readonly store: SessionStore;
  readonly provider: LLMProvider;
  readonly tools: ToolRegistry;
  readonly logger: Logger;
  /** Where attachments' bytes are kept. @default a memoryAttachmentStore() of the core's own */
  readonly attachmentStore?: AttachmentStore;
  /** Absent for a core made without a `WSServer` ({@link makeServerOptions}): nothing is counted. */
  readonly metrics?: ServerMetrics;
  /** Absent for a core made without a `WSServer`: the caller passes its own `hooks`. */
  readonly events?: Subject<WSServerEvent>;
}

/** The attachment limits' default: what fits in a frame of the server's `maxPayload`. */
const attachmentLimitFor = (options: WSServerOptions): number =>
  options.maxPayload === undefined ? DEFAULT_MAX_ATTACHMENT_BYTES : attachmentBytesFor(options.maxPayload);

/** What every session of a server shares, built once: a session keeps only a reference to it. */
function sharedSessionOptions(options: WSServerOptions, parts: CoreParts): SharedSessionOptions {
  return {
    // Telemetry decorates the model and the tools once, here: the core sees only what it made.
    provider: options.telemetry ? options.telemetry.provider(parts.provider) : parts.provider,
    tools: options.telemetry ? options.telemetry.tools(parts.tools) : parts.tools,
    conversation: options.conversationOptions ?? {},
    maxToolSteps: options.maxToolSteps ?? DEFAULT_MAX_TOOL_STEPS,
    idleTimeoutMs: options.upstreamIdleTimeoutMs ?? DEFAULT_UPSTREAM_IDLE_TIMEOUT_MS,
    replyLimits: {
      maxTextBytes: options.maxReplyTextBytes ?? DEFAULT_MAX_REPLY_TEXT_BYTES,
      maxToolArgumentsBytes: options.maxToolArgumentsBytes ?? DEFAULT_MAX_TOOL_ARGUMENTS_BYTES,
    },
    maxMessageLength: options.maxMessageLength ?? DEFAULT_MAX_MESSAGE_LENGTH,
    attachments: {
      limits: {
        // By default what fits in one frame: a message at the limits is never closed with 1009.
        maxBytes: options.maxAttachmentBytes ?? attachmentLimitFor(options),
        maxMessageBytes: options.maxMessageAttachmentBytes ?? attachmentLimitFor(options),
        mediaTypes: (options.attachmentMediaTypes ?? DEFAULT_ATTACHMENT_MEDIA_TYPES).map((type) => type.toLowerCase()),
        allowUrls: options.attachmentUrls ?? true,
      },
      store: parts.attachmentStore ?? memoryAttachmentStore(),
    },
    onDisconnect: options.onDisconnect ?? 'continue',
    concurrentMessages: options.concurrentMessages ?? DEFAULT_CONCURRENT_MESSAGES,
    maxQueuedMessages: options.maxQueuedMessages ?? DEFAULT_MAX_QUEUED_MESSAGES,
    replay: {
      maxMessages: options.replayMaxMessages ?? DEFAULT_REPLAY_MAX_MESSAGES,
      // Room for the largest reply this server accepts, so that any of them resumes whole.
      maxBytes: options.replayMaxBytes ?? replayMaxBytesFor(options.maxReplyTextBytes ?? DEFAULT_MAX_REPLY_TEXT_BYTES),
    },
    backpressure: {
      highWaterMark: options.highWaterMarkBytes ?? DEFAULT_HIGH_WATER_MARK_BYTES,
      hardLimit: options.sendBufferHardLimitBytes ?? DEFAULT_SEND_BUFFER_HARD_LIMIT_BYTES,
    },
    checkClientTools,
    humanInTheLoop: {
      approvalTimeoutMs: options.approvalTimeoutMs ?? DEFAULT_APPROVAL_TIMEOUT_MS,
      clientToolTimeoutMs: options.clientToolTimeoutMs ?? DEFAULT_CLIENT_TOOL_TIMEOUT_MS,
      maxClientToolResultBytes: options.maxClientToolResultBytes ?? DEFAULT_MAX_CLIENT_TOOL_RESULT_BYTES,
      keepReasoning: options.keepReasoning ?? false,
    },
    logger: parts.logger,
    ...(parts.metrics
      ? {
          onSent: parts.metrics.sent,
          timings: { modelCall: parts.metrics.modelCall, firstToken: parts.metrics.firstToken },
        }
      : {}),
    ...(options.telemetry ? { telemetry: options.telemetry } : {}),
    ...(options.tokenBudget || options.messageRate ? { usageLimits: usageLimitsFor(options, parts.logger) } : {}),
  };
}

/** The per-principal limits the options ask for, counted by their `quotaCounter` (this process's memory unless given). */
function usageLimitsFor(options: WSServerOptions, logger: Logger): UsageLimits {
  return createUsageLimits({
    counter: options.quotaCounter ?? memoryQuotaCounter(),
    logger,
    ...(options.tokenBudget ? { tokenBudget: options.tokenBudget } : {}),
    ...(options.messageRate ? { messageRate: options.messageRate } : {}),
    ...(options.quotaKey ? { keyOf: options.quotaKey } : {}),
  });
}

/** The options `makeServer` gets from a `WSServer`'s (built once; `start` makes a core from them each time). */
export function coreOptionsFor(options: WSServerOptions, parts: CoreParts): MakeServerOptions {
  const configuredRateLimit = options.rateLimit ?? DEFAULT_RATE_LIMIT;
  return {
    store: parts.store,
    session: sharedSessionOptions(options, parts),
    sessionTtlMs: options.sessionTtlMs ?? DEFAULT_SESSION_TTL_MS,
    budget: {
      maxSessions: options.maxSessions ?? DEFAULT_MAX_SESSIONS,
      maxBytes: options.sessionMemoryBudgetBytes ?? DEFAULT_SESSION_MEMORY_BUDGET_BYTES,
    },
    rateLimit: configuredRateLimit === false ? undefined : configuredRateLimit,
    ...(options.maxConnectionsPerSession === undefined
      ? {}
      : { maxConnectionsPerSession: options.maxConnectionsPerSession }),
    logger: parts.logger,
    hooks: {
      ...(parts.metrics && parts.events ? serverHooks(parts.metrics, parts.events) : {}),
      // Telemetry hears resumes whether or not the server keeps Prometheus metrics.
      ...(options.telemetry?.resumed ? { onResume: resumeHook(parts.metrics, options.telemetry) } : {}),
    },
  };
}

/** A `WSServer`'s metrics and `events$`, fed from the core's hooks. */
function serverHooks(metrics: ServerMetrics, events: Subject<WSServerEvent>): ServerHooks {
  return {
    onConnected: (sessionId) => {
      metrics.connectionOpened();
      events.next({ type: 'client_connected', sessionId });
    },
    onClosed: (sessionId, code, reason) => events.next({ type: 'client_disconnected', sessionId, code, reason }),
    onProtocolError: (sessionId, error) => events.next({ type: 'client_error', sessionId, error }),
    onResume: metrics.resume,
    onResumed: (session) => events.next({ type: 'session_resumed', sessionId: session.id }),
    onExpired: (session) => events.next({ type: 'session_expired', sessionId: session.id }),
  };
}

/**
 * The options of {@link WSServerOptions} that make the core itself (what each session does), not
 * its HTTP server, socket library, authentication or metrics: those belong to the adapter.
 */
export type CoreServerOptions = Omit<
  WSServerOptions,
  | 'port'
  | 'hostname'
  | 'path'
  | 'server'
  | 'noServer'
  | 'maxConnections'
  | 'heartbeatInterval'
  | 'maxPayload'
  | 'enableCompression'
  | 'authenticate'
  | 'allowedOrigins'
  | 'metricsAuth'
  | 'registry'
  | 'collectDefaultMetrics'
  | 'demoDir'
  | 'upstreamHealthCheck'
  | 'stopRetryAfterMs'
  | 'stopRetryAfter'
>;

/**
 * The options of {@link makeServer} from a `WSServer`'s (the same names, defaults and checks), for
 * an adapter of your own: the model from `llm` (or the environment, as `WSServer` does), the
 * built-in tools and `tools`, `memoryStore()` unless `store`, the console logger unless `logger`.
 * Throws an `invalid_options` `LLMWSError` as the `WSServer` constructor does.
 *
 * ```ts
 * const core = makeServer({ ...makeServerOptions({ llm, store }), hooks: { onConnected } });
 * await core.ready();
 * ```
 */
export function makeServerOptions(options: CoreServerOptions = {}): MakeServerOptions {
  const checked = checkOptions(options).options;
  return coreOptionsFor(checked, {
    store: checked.store ?? memoryStore(),
    provider: checked.llm ?? providerFromEnvironment().provider,
    tools: serverTools(checked),
    logger: resolveLogger(checked.logger),
  });
}

/** The resume hook with telemetry: the Prometheus counter (when kept) and the telemetry's. */
function resumeHook(metrics: ServerMetrics | undefined, telemetry: Telemetry): NonNullable<ServerHooks['onResume']> {
  return (outcome, replayedMessages) => {
    metrics?.resume(outcome);
    telemetry.resumed?.(outcome, replayedMessages);
  };
}
