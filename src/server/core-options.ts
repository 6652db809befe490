/**
 * The core's options from a `WSServer`'s: defaults filled in, metrics and events hooked up.
 */
import {
  type AttachmentStore,
  DEFAULT_ATTACHMENT_MEDIA_TYPES,
  DEFAULT_MAX_ATTACHMENT_BYTES,
  DEFAULT_MAX_MESSAGE_ATTACHMENT_BYTES,
} from '../core/attachments';
import type { Subject } from 'rxjs';
import type { MakeServerOptions, SharedSessionOptions } from '../core/make-server';
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
} from '../tools/client-tools';
import type { ToolRegistry } from '../tools/registry';
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

/** What a `WSServer` has made already, for the core to use. */
export interface CoreParts {
  readonly store: SessionStore;
  readonly provider: LLMProvider;
  readonly tools: ToolRegistry;
  readonly logger: Logger;
  readonly metrics: ServerMetrics;
  readonly events: Subject<WSServerEvent>;
  readonly attachmentStore: AttachmentStore;
}

/** What every session of a server shares, built once: a session keeps only a reference to it. */
function sharedSessionOptions(options: WSServerOptions, parts: CoreParts): SharedSessionOptions {
  return {
    provider: parts.provider,
    tools: parts.tools,
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
        maxBytes: options.maxAttachmentBytes ?? DEFAULT_MAX_ATTACHMENT_BYTES,
        maxMessageBytes: options.maxMessageAttachmentBytes ?? DEFAULT_MAX_MESSAGE_ATTACHMENT_BYTES,
        mediaTypes: (options.attachmentMediaTypes ?? DEFAULT_ATTACHMENT_MEDIA_TYPES).map((type) => type.toLowerCase()),
        allowUrls: options.attachmentUrls ?? true,
      },
      store: parts.attachmentStore,
    },
    onDisconnect: options.onDisconnect ?? 'continue',
    replay: {
      maxMessages: options.replayMaxMessages ?? DEFAULT_REPLAY_MAX_MESSAGES,
      // Room for the largest reply this server accepts, so that any of them resumes whole.
      maxBytes: options.replayMaxBytes ?? replayMaxBytesFor(options.maxReplyTextBytes ?? DEFAULT_MAX_REPLY_TEXT_BYTES),
    },
    backpressure: {
      highWaterMark: options.highWaterMarkBytes ?? DEFAULT_HIGH_WATER_MARK_BYTES,
      hardLimit: options.sendBufferHardLimitBytes ?? DEFAULT_SEND_BUFFER_HARD_LIMIT_BYTES,
    },
    humanInTheLoop: {
      approvalTimeoutMs: options.approvalTimeoutMs ?? DEFAULT_APPROVAL_TIMEOUT_MS,
      clientToolTimeoutMs: options.clientToolTimeoutMs ?? DEFAULT_CLIENT_TOOL_TIMEOUT_MS,
      maxClientToolResultBytes: options.maxClientToolResultBytes ?? DEFAULT_MAX_CLIENT_TOOL_RESULT_BYTES,
      keepReasoning: options.keepReasoning ?? false,
    },
    logger: parts.logger,
    onSent: parts.metrics.sent,
    timings: { modelCall: parts.metrics.modelCall, firstToken: parts.metrics.firstToken },
  };
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
    logger: parts.logger,
    hooks: {
      onConnected: (sessionId) => {
        parts.metrics.connectionOpened();
        parts.events.next({ type: 'client_connected', sessionId });
      },
      onClosed: (sessionId, code, reason) =>
        parts.events.next({ type: 'client_disconnected', sessionId, code, reason }),
      onProtocolError: (sessionId, error) => parts.events.next({ type: 'client_error', sessionId, error }),
      onResume: parts.metrics.resume,
      onResumed: (session) => parts.events.next({ type: 'session_resumed', sessionId: session.id }),
      onExpired: (session) => parts.events.next({ type: 'session_expired', sessionId: session.id }),
    },
  };
}
