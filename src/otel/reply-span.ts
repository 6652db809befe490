/** A reply's span: `invoke_agent {agent}`, the parent of its model calls and tool runs. */
import { type Attributes, SpanKind, SpanStatusCode, trace, type Tracer } from '@opentelemetry/api';
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

/** Starts the span of a reply, in the client's trace when it sent one. */
export function startReplySpan(
  start: ReplyStart,
  tracer: Tracer,
  options: {
    readonly agentName: string;
    readonly captureContent: boolean;
    readonly waiting: (answer: 'tool_approval' | 'tool_result', delta: 1 | -1) => void;
  },
): ReplyTrace {
  const parent = parentContextOf(start.traceparent, start.tracestate);
  const span = tracer.startSpan(
    `invoke_agent ${options.agentName}`,
    {
      kind: SpanKind.INTERNAL,
      attributes: {
        [ATTR_OPERATION_NAME]: 'invoke_agent',
        [ATTR_AGENT_NAME]: options.agentName,
        [ATTR_CONVERSATION_ID]: start.sessionId,
        [ATTR_LLM_WS_REQUEST_ID]: start.requestId,
        ...(options.captureContent
          ? {
              [ATTR_INPUT_MESSAGES]: JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: start.text }] }]),
            }
          : {}),
      },
    },
    parent,
  );
  return {
    context: trace.setSpan(parent, span),
    waiting: options.waiting,
    end: (ending: ReplyEnding) => {
      const attributes: Attributes = {};
      if (ending.type === 'complete') {
        const { finishReason, usage, fullText } = ending.data;
        attributes[ATTR_RESPONSE_FINISH_REASONS] = [finishReason];
        if (usage) Object.assign(attributes, usageAttributes(usage));
        if (options.captureContent) attributes[ATTR_OUTPUT_MESSAGES] = outputMessagesJSON(fullText, [], finishReason);
      } else if (ending.type === 'error') {
        attributes[ATTR_ERROR_TYPE] = ending.code;
        span.setStatus({ code: SpanStatusCode.ERROR, message: ending.message });
      } else {
        attributes[ATTR_LLM_WS_CANCELLED] = true;
      }
      span.setAttributes(attributes);
      span.end();
    },
  };
}
