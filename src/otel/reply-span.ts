/** A reply's span: `invoke_agent {agent}`, the parent of its model calls and tool runs. */
import { type Attributes, type Span, SpanKind, SpanStatusCode, trace, type Tracer } from '@opentelemetry/api';
import type { ReplyEnding, ReplyStart, ReplyTrace } from '../core/telemetry';
import {
  ATTR_AGENT_NAME,
  ATTR_CONVERSATION_ID,
  ATTR_ERROR_TYPE,
  ATTR_INPUT_MESSAGES,
  ATTR_LLM_WS_CANCELLED,
  ATTR_LLM_WS_REQUEST_ID,
  ATTR_OPERATION_NAME,
  ATTR_OUTPUT_MESSAGES,
  ATTR_RESPONSE_FINISH_REASONS,
  usageAttributes,
} from './attributes';
import { outputMessagesJSON } from './messages';
import { parentContextOf } from './trace-context';

/** What every reply span of one `otelTelemetry` shares. */
export interface ReplySpans {
  readonly tracer: Tracer;
  readonly captureContent: boolean;
  /** `invoke_agent {agent}`. */
  readonly name: string;
  /** The attributes every reply span starts with. */
  readonly attributes: Attributes;
  readonly waiting: (answer: 'tool_approval' | 'tool_result', delta: 1 | -1) => void;
}

/** What reply spans of the agent `agentName` share: built once, not per reply. */
export function replySpans(
  tracer: Tracer,
  agentName: string,
  captureContent: boolean,
  waiting: ReplySpans['waiting'],
): ReplySpans {
  const attributes = { [ATTR_OPERATION_NAME]: 'invoke_agent', [ATTR_AGENT_NAME]: agentName };
  return { tracer, captureContent, name: `invoke_agent ${agentName}`, attributes, waiting };
}

/** One reply's trace: an object, not closures, so a reply allocates little more than its span. */
class ReplySpan implements ReplyTrace {
  constructor(
    private readonly spans: ReplySpans,
    private readonly span: Span,
    readonly context: unknown,
  ) {}

  waiting(answer: 'tool_approval' | 'tool_result', delta: 1 | -1): void {
    this.spans.waiting(answer, delta);
  }

  end(ending: ReplyEnding): void {
    const { span } = this;
    const attributes: Attributes = {};
    if (ending.type === 'complete') {
      const { finishReason, usage, fullText } = ending.data;
      attributes[ATTR_RESPONSE_FINISH_REASONS] = [finishReason];
      if (usage) usageAttributes(usage, attributes);
      if (this.spans.captureContent) attributes[ATTR_OUTPUT_MESSAGES] = outputMessagesJSON(fullText, [], finishReason);
    } else if (ending.type === 'error') {
      attributes[ATTR_ERROR_TYPE] = ending.code;
      span.setStatus({ code: SpanStatusCode.ERROR, message: ending.message });
    } else {
      attributes[ATTR_LLM_WS_CANCELLED] = true;
    }
    span.setAttributes(attributes);
    span.end();
  }
}

/** Starts the span of a reply, in the client's trace when it sent one. */
export function startReplySpan(start: ReplyStart, spans: ReplySpans): ReplyTrace {
  const parent = parentContextOf(start.traceparent, start.tracestate);
  const attributes: Attributes = {
    ...spans.attributes,
    [ATTR_CONVERSATION_ID]: start.sessionId,
    [ATTR_LLM_WS_REQUEST_ID]: start.requestId,
  };
  if (spans.captureContent)
    attributes[ATTR_INPUT_MESSAGES] = JSON.stringify([
      { role: 'user', parts: [{ type: 'text', content: start.text }] },
    ]);
  const span = spans.tracer.startSpan(spans.name, { kind: SpanKind.INTERNAL, attributes }, parent);
  return new ReplySpan(spans, span, trace.setSpan(parent, span));
}
