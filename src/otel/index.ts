/**
 * `llm-ws/otel`: OpenTelemetry traces and metrics for a `WSServer`, on the GenAI semantic
 * conventions. Imports `@opentelemetry/api` (an optional peer of llm-ws: install it to use this
 * entry); without an OpenTelemetry SDK registered, every span and metric is a no-op.
 *
 * ```ts
 * new WSServer({ telemetry: otelTelemetry() });
 * ```
 */
import { metrics, type MeterProvider, trace, type TracerProvider } from '@opentelemetry/api';
import type { Telemetry } from '../core/telemetry';
import { createGenAIInstruments, createLlmWsInstruments } from './instruments';
import { replySpans, startReplySpan } from './reply-span';
import { tracedProvider } from './traced-provider';
import { tracedTools } from './traced-tools';

/** The instrumentation scope of llm-ws's spans and metrics. */
export const INSTRUMENTATION_SCOPE = 'llm-ws';
/** `gen_ai.agent.name` of reply spans (`invoke_agent llm-ws`) unless configured. */
export const DEFAULT_AGENT_NAME = 'llm-ws';

/** How `otelTelemetry` traces and measures. */
export interface OtelTelemetryOptions {
  /** Where spans go. @default the global one (`trace.getTracerProvider()`): a no-op until an SDK registers */
  readonly tracerProvider?: TracerProvider;
  /** Where metrics go. @default the global one (`metrics.getMeterProvider()`) */
  readonly meterProvider?: MeterProvider;
  /**
   * Record message contents: `gen_ai.input.messages` and `gen_ai.output.messages` on model call
   * and reply spans, tool arguments and results on tool spans. Off by default: contents are
   * users' data. @default false
   */
  readonly captureContent?: boolean;
  /** `gen_ai.agent.name` of reply spans. @default DEFAULT_AGENT_NAME */
  readonly agentName?: string;
  /**
   * `gen_ai.provider.name` and `gen_ai.request.model` for a model that does not describe itself
   * (`LLMProvider.info`; `openAIProvider` does). @default { providerName: '_OTHER', model: 'unknown' }
   */
  readonly providerName?: string;
  readonly model?: string;
}

/**
 * Telemetry on OpenTelemetry, for `WSServerOptions.telemetry`: a span per reply
 * (`invoke_agent`, joining the client's trace when its `user_message` carried a `traceparent`),
 * a CLIENT span per model call (`chat {model}`), a span per tool run (`execute_tool {name}`), and
 * the GenAI client metrics (`gen_ai.client.operation.duration`, `gen_ai.client.token.usage`,
 * `gen_ai.client.operation.time_to_first_chunk`), and llm-ws's own (`llm_ws.resumes`,
 * `llm_ws.resume.replayed_messages`, `llm_ws.tool_calls.waiting`).
 */
export function otelTelemetry(options: OtelTelemetryOptions = {}): Telemetry {
  const tracer = (options.tracerProvider ?? trace.getTracerProvider()).getTracer(INSTRUMENTATION_SCOPE);
  const meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter(INSTRUMENTATION_SCOPE);
  const captureContent = options.captureContent ?? false;
  const agentName = options.agentName ?? DEFAULT_AGENT_NAME;
  const instruments = createGenAIInstruments(meter);
  const own = createLlmWsInstruments(meter);
  const waitingFor = {
    tool_approval: { 'llm_ws.waiting_for': 'approval' },
    tool_result: { 'llm_ws.waiting_for': 'client_tool' },
  };
  // Built once: a reply then costs its span and little else.
  const replies = replySpans(tracer, agentName, captureContent, (answer, delta) =>
    own.waiting.add(delta, waitingFor[answer]),
  );
  return {
    provider: (provider) =>
      tracedProvider(provider, {
        tracer,
        instruments,
        captureContent,
        fallbackInfo: { providerName: options.providerName ?? '_OTHER', model: options.model ?? 'unknown' },
      }),
    tools: (registry) => tracedTools(registry, tracer, captureContent),
    startReply: (start) => startReplySpan(start, replies),
    resumed: (outcome, replayedMessages) => {
      own.resumes.add(1, { 'llm_ws.resume.outcome': outcome });
      if (replayedMessages !== undefined) own.replayedMessages.record(replayedMessages);
    },
  };
}

export type { Telemetry, ReplyStart, ReplyTrace, ReplyEnding } from '../core/telemetry';
