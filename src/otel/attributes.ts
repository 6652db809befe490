/**
 * The OpenTelemetry GenAI semantic conventions llm-ws emits (gen-ai-spans.md, gen-ai-metrics.md,
 * the latest experimental version: what `OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental`
 * selects elsewhere; llm-ws never emitted an older one), as constants, and the usage attributes.
 */
import type { Attributes } from '@opentelemetry/api';
import type { Usage } from '../protocol/codecs';

export const ATTR_OPERATION_NAME = 'gen_ai.operation.name';
export const ATTR_PROVIDER_NAME = 'gen_ai.provider.name';
export const ATTR_REQUEST_MODEL = 'gen_ai.request.model';
export const ATTR_REQUEST_TEMPERATURE = 'gen_ai.request.temperature';
export const ATTR_REQUEST_MAX_TOKENS = 'gen_ai.request.max_tokens';
export const ATTR_REQUEST_STREAM = 'gen_ai.request.stream';
export const ATTR_RESPONSE_MODEL = 'gen_ai.response.model';
export const ATTR_RESPONSE_ID = 'gen_ai.response.id';
export const ATTR_RESPONSE_FINISH_REASONS = 'gen_ai.response.finish_reasons';
export const ATTR_RESPONSE_TIME_TO_FIRST_CHUNK = 'gen_ai.response.time_to_first_chunk';
export const ATTR_USAGE_INPUT_TOKENS = 'gen_ai.usage.input_tokens';
export const ATTR_USAGE_OUTPUT_TOKENS = 'gen_ai.usage.output_tokens';
export const ATTR_USAGE_REASONING_TOKENS = 'gen_ai.usage.reasoning.output_tokens';
export const ATTR_USAGE_CACHE_READ_TOKENS = 'gen_ai.usage.cache_read.input_tokens';
export const ATTR_CONVERSATION_ID = 'gen_ai.conversation.id';
export const ATTR_AGENT_NAME = 'gen_ai.agent.name';
export const ATTR_INPUT_MESSAGES = 'gen_ai.input.messages';
export const ATTR_OUTPUT_MESSAGES = 'gen_ai.output.messages';
export const ATTR_TOOL_NAME = 'gen_ai.tool.name';
export const ATTR_TOOL_CALL_ID = 'gen_ai.tool.call.id';
export const ATTR_TOOL_TYPE = 'gen_ai.tool.type';
export const ATTR_TOOL_CALL_ARGUMENTS = 'gen_ai.tool.call.arguments';
export const ATTR_TOOL_CALL_RESULT = 'gen_ai.tool.call.result';
export const ATTR_TOKEN_TYPE = 'gen_ai.token.type';
export const ATTR_ERROR_TYPE = 'error.type';
export const ATTR_SERVER_ADDRESS = 'server.address';
export const ATTR_SERVER_PORT = 'server.port';
/** llm-ws's own: the `user_message` id of the reply. */
export const ATTR_LLM_WS_REQUEST_ID = 'llm_ws.request.id';
/** llm-ws's own: true on a span whose work was cancelled (the reply aborted or the session ended) before it finished. */
export const ATTR_LLM_WS_CANCELLED = 'llm_ws.cancelled';
/** llm-ws's own: true when the usage on the span is llm-ws's estimate (the model reported none). */
export const ATTR_LLM_WS_USAGE_ESTIMATED = 'llm_ws.usage.estimated';

/** The usage attributes of `usage` (reasoning and cached tokens only where reported), written into `into`. */
export function usageAttributes(usage: Usage, into: Attributes = {}): Attributes {
  // Assigned one by one, not spread: this runs at the end of every model call and reply.
  into[ATTR_USAGE_INPUT_TOKENS] = usage.promptTokens;
  into[ATTR_USAGE_OUTPUT_TOKENS] = usage.completionTokens;
  if (usage.reasoningTokens !== undefined) into[ATTR_USAGE_REASONING_TOKENS] = usage.reasoningTokens;
  if (usage.cachedTokens !== undefined) into[ATTR_USAGE_CACHE_READ_TOKENS] = usage.cachedTokens;
  if (usage.estimated) into[ATTR_LLM_WS_USAGE_ESTIMATED] = true;
  return into;
}

/** `error.type` of a failure: its stable `code` when it has one (`rate_limited`, `upstream_timeout`...), else its class name. */
export function errorTypeOf(error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && code !== '') return code;
  if (error instanceof Error) return error.name;
  return '_OTHER';
}
