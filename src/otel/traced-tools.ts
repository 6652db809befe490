/** The server's tools, decorated: an INTERNAL span `execute_tool {name}` per run. */
import { type Context, context as otelContext, SpanKind, SpanStatusCode, type Tracer } from '@opentelemetry/api';
import { defer, finalize, tap } from 'rxjs';
import type { ToolRegistry } from '../tools/types';
import {
  ATTR_CONVERSATION_ID,
  ATTR_ERROR_TYPE,
  ATTR_LLM_WS_CANCELLED,
  ATTR_LLM_WS_REQUEST_ID,
  ATTR_OPERATION_NAME,
  ATTR_TOOL_CALL_ARGUMENTS,
  ATTR_TOOL_CALL_ID,
  ATTR_TOOL_CALL_RESULT,
  ATTR_TOOL_NAME,
  ATTR_TOOL_TYPE,
} from './attributes';

/** `registry`, with a span per tool run (its arguments and result recorded only with `captureContent`). */
export function tracedTools(registry: ToolRegistry, tracer: Tracer, captureContent: boolean): ToolRegistry {
  return {
    get names() {
      return registry.names;
    },
    has: (name) => registry.has(name),
    definitions: (names) => registry.definitions(names),
    needsApproval: (call, context) => registry.needsApproval(call, context),
    execute: (call, context) =>
      defer(() => {
        const parent = (context.trace as Context | undefined) ?? otelContext.active();
        const span = tracer.startSpan(
          `execute_tool ${call.name}`,
          {
            kind: SpanKind.INTERNAL,
            attributes: {
              [ATTR_OPERATION_NAME]: 'execute_tool',
              [ATTR_TOOL_NAME]: call.name,
              [ATTR_TOOL_CALL_ID]: call.id,
              [ATTR_TOOL_TYPE]: 'function',
              [ATTR_CONVERSATION_ID]: context.sessionId,
              [ATTR_LLM_WS_REQUEST_ID]: context.requestId,
              ...(captureContent ? { [ATTR_TOOL_CALL_ARGUMENTS]: call.arguments } : {}),
            },
          },
          parent,
        );
        let done = false;
        return registry.execute(call, context).pipe(
          tap((outcome) => {
            done = true;
            if (!outcome.ok) {
              span.setAttribute(ATTR_ERROR_TYPE, 'tool_error');
              span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.error });
            } else if (captureContent) {
              span.setAttribute(
                ATTR_TOOL_CALL_RESULT,
                typeof outcome.result === 'string' ? outcome.result : JSON.stringify(outcome.result ?? null),
              );
            }
          }),
          finalize(() => {
            if (!done) span.setAttribute(ATTR_LLM_WS_CANCELLED, true);
            span.end();
          }),
        );
      }),
  };
}
