/**
 * Messages as the GenAI conventions record them (`gen_ai.input.messages`, `gen_ai.output.messages`:
 * a role and its parts), from llm-ws's history messages; recorded only when content capture is on.
 */
import type { HistoryMessage } from '../protocol/codecs';

type Part =
  | { type: 'text'; content: string }
  | { type: 'tool_call'; id: string; name: string; arguments: unknown }
  | { type: 'tool_call_response'; id: string; result: unknown };

function parsed(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** One history message in the conventions' shape. */
function conventionMessage(message: HistoryMessage): { role: string; parts: Part[] } {
  if (message.role === 'tool')
    return {
      role: 'tool',
      parts: [{ type: 'tool_call_response', id: message.toolCallId ?? '', result: message.content }],
    };
  const parts: Part[] = message.content === '' ? [] : [{ type: 'text', content: message.content }];
  for (const call of message.toolCalls ?? [])
    parts.push({ type: 'tool_call', id: call.id, name: call.name, arguments: parsed(call.arguments) });
  return { role: message.role, parts };
}

/** `gen_ai.input.messages` of a request's messages, as JSON text. */
export function inputMessagesJSON(messages: readonly HistoryMessage[]): string {
  return JSON.stringify(messages.map(conventionMessage));
}

/** `gen_ai.output.messages` of one answer, as JSON text. */
export function outputMessagesJSON(
  text: string,
  toolCalls: readonly { id: string; name: string; arguments: string }[],
  finishReason: string | undefined,
): string {
  const parts: Part[] = text === '' ? [] : [{ type: 'text', content: text }];
  for (const call of toolCalls)
    parts.push({ type: 'tool_call', id: call.id, name: call.name, arguments: parsed(call.arguments) });
  return JSON.stringify([{ role: 'assistant', parts, ...(finishReason ? { finish_reason: finishReason } : {}) }]);
}
