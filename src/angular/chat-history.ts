/**
 * The conversation as the server holds it (`HistoryMessage`s, the active branch) as the chat's
 * messages: each user message, then one reply for the model's messages up to the next one. Pure;
 * no Angular here.
 */
import type { HistoryMessage } from '../protocol/codecs';
import type { ChatMessage, ChatToolCall } from './chat-log';

/** `history` as chat messages; a message's `id` is its server id, so a template's `track` keeps it across reloads. */
export function chatFromHistory(history: readonly HistoryMessage[]): ChatMessage[] {
  const messages: ChatMessage[] = [];
  let reply: ChatMessage | undefined;
  const close = (): void => {
    if (reply) messages.push(reply);
    reply = undefined;
  };
  history.forEach((entry, index) => {
    if (entry.role === 'user') {
      close();
      const id = entry.id ?? `history-${index}`;
      messages.push({
        id,
        role: 'user',
        text: entry.content,
        status: 'done',
        toolCalls: [],
        ...(entry.id ? { messageId: entry.id } : {}),
        ...(entry.siblingIds ? { siblingIds: entry.siblingIds } : {}),
      });
      return;
    }
    if (entry.role === 'system') return;
    // A reply's first message stands for it: its id and its siblings (a regenerate makes them there).
    reply ??= {
      id: entry.id ?? `history-${index}`,
      role: 'assistant',
      text: '',
      status: 'done',
      toolCalls: [],
      ...(entry.id ? { messageId: entry.id } : {}),
      ...(entry.siblingIds ? { siblingIds: entry.siblingIds } : {}),
    };
    if (entry.role === 'tool') {
      const result = parse(entry.content);
      reply = {
        ...reply,
        toolCalls: reply.toolCalls.map((call) =>
          call.id === entry.toolCallId ? { ...call, status: 'complete', result } : call,
        ),
      };
      return;
    }
    const calls: ChatToolCall[] = (entry.toolCalls ?? []).map((call) => ({
      id: call.id,
      name: call.name,
      args: parse(call.arguments),
      status: 'running',
    }));
    reply = {
      ...reply,
      text: reply.text + entry.content,
      toolCalls: [...reply.toolCalls, ...calls],
      ...(entry.finishReason ? { finishReason: entry.finishReason } : {}),
      ...(entry.reasoning ? { reasoning: (reply.reasoning ?? '') + entry.reasoning } : {}),
    };
  });
  close();
  return messages;
}

/** A tool message's content (and a call's arguments) as JSON, or the plain text. */
function parse(content: string): unknown {
  try {
    return JSON.parse(content) as unknown;
  } catch {
    return content;
  }
}
