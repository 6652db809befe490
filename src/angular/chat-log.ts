/**
 * The conversation as a chat UI shows it, built by a pure reducer from the events of the
 * replies (used with `scan`, tested from plain tables). No Angular here.
 */
import type { ClientErrorCode, ConnectionErrorCode } from '../errors';
import type { ErrorCode } from '../protocol/codes';
import type { FinishReason, Usage } from '../protocol/codecs';
import type { ReplyEvent } from '../client/options';

/** A tool the model called while answering, as {@link ChatMessage.toolCalls} lists it. */
export interface ChatToolCall {
  readonly id: string;
  readonly name: string;
  /** The arguments the model passed (parsed JSON). */
  readonly args: unknown;
  /**
   * `running` until the tool answers; before that `approval_required` while it waits for the
   * user's yes or no, or `client_execute` while the client runs it; `denied` when it was declined.
   */
  readonly status: 'running' | 'complete' | 'error' | 'approval_required' | 'client_execute' | 'denied';
  /** What the tool returned, once `complete`. */
  readonly result?: unknown;
  /** Why the tool failed, once `error`, or why it was declined, once `denied`. */
  readonly error?: string;
}

/**
 * Why a reply failed, as a stable code: one of the server's {@link ErrorCode}s (a `ServerError`),
 * or the client's own (`ConnectionErrorCode`: the connection ended; `ClientErrorCode`: the client
 * refused or timed the request out).
 */
export type ChatErrorCode = ErrorCode | ConnectionErrorCode | ClientErrorCode;

/** Where a message is: a reply is `streaming` until it ends one of the other three ways. */
export type ChatMessageStatus = 'streaming' | 'done' | 'aborted' | 'failed';

/** One message of the conversation: what the user sent, or the assistant's reply to it. */
export interface ChatMessage {
  /** Unique within one chat service. */
  readonly id: string;
  readonly role: 'user' | 'assistant';
  /** The text so far: a streaming reply grows chunk by chunk. */
  readonly text: string;
  /** The model's reasoning so far, when it streams any (not part of `text`). */
  readonly reasoning?: string;
  /** Always `done` for a user's message. */
  readonly status: ChatMessageStatus;
  /** The tools the model called for this reply, in the order it called them. */
  readonly toolCalls: readonly ChatToolCall[];
  /** Why the reply ended, once `done` (`aborted` when the server stopped it). */
  readonly finishReason?: FinishReason;
  /** Token usage of the reply, when the model reported it. */
  readonly usage?: Usage;
  /** Why the reply failed, once `failed`: the error's stable `code` and its message. */
  readonly error?: { readonly code: ChatErrorCode; readonly message: string };
  /** The message's id on the server, once it has one: what `editMessage` and `switchBranch` take. */
  readonly messageId?: string;
  /**
   * The ids of this message and the branches beside it (an edit or a regenerate made them),
   * oldest first: `"< 2/3 >"` is `siblingIds.indexOf(messageId) + 1` of `siblingIds.length`.
   */
  readonly siblingIds?: readonly string[];
}

/** What changes the conversation. */
export type ChatLogEvent =
  /** The user sent `text`; its reply is `replyId`. */
  | { readonly kind: 'sent'; readonly userId: string; readonly replyId: string; readonly text: string }
  /** An event of reply `replyId` arrived. */
  | { readonly kind: 'reply'; readonly replyId: string; readonly event: ReplyEvent }
  /** Reply `replyId` failed. */
  | { readonly kind: 'failed'; readonly replyId: string; readonly code: ChatErrorCode; readonly message: string }
  /** Reply `replyId` was stopped on this side. */
  | { readonly kind: 'aborted'; readonly replyId: string }
  /** The conversation was emptied. */
  | { readonly kind: 'cleared' }
  /** The conversation is now `messages` (opened, or its branch switched). */
  | { readonly kind: 'loaded'; readonly messages: readonly ChatMessage[] }
  /** The last reply is answered again as reply `replyId` (the old one stays on the server as a branch). */
  | { readonly kind: 'regenerating'; readonly replyId: string }
  /** User message `messageId` is replaced by `text` (the old branch stays on the server); its reply is `replyId`. */
  | {
      readonly kind: 'edited';
      readonly messageId: string;
      readonly userId: string;
      readonly replyId: string;
      readonly text: string;
    };

const userMessage = (id: string, text: string): ChatMessage => ({
  id,
  role: 'user',
  text,
  status: 'done',
  toolCalls: [],
});

/** The conversation after `event`. Returns `log` itself when the event changes nothing. */
export function applyChatEvent(log: readonly ChatMessage[], event: ChatLogEvent): readonly ChatMessage[] {
  switch (event.kind) {
    case 'sent':
      return [...log, userMessage(event.userId, event.text), streamingReply(event.replyId)];
    case 'cleared':
      return log.length === 0 ? log : [];
    case 'loaded':
      return event.messages;
    case 'regenerating': {
      const last = log.map((message) => message.role).lastIndexOf('user');
      return [...log.slice(0, last + 1), streamingReply(event.replyId)];
    }
    case 'edited': {
      const at = log.findIndex((message) => message.messageId === event.messageId);
      return [
        ...(at < 0 ? log : log.slice(0, at)),
        userMessage(event.userId, event.text),
        streamingReply(event.replyId),
      ];
    }
    case 'failed':
      return updateReply(log, event.replyId, (reply) => ({
        ...reply,
        status: 'failed',
        error: { code: event.code, message: event.message },
      }));
    case 'aborted':
      return updateReply(log, event.replyId, (reply) => ({ ...reply, status: 'aborted' }));
    case 'reply': {
      const next = updateReply(log, event.replyId, (reply) => applyReplyEvent(reply, event.event));
      return event.event.type === 'llm_complete'
        ? identifyQuestion(next, event.replyId, event.event.data.userMessageId)
        : next;
    }
  }
}

const streamingReply = (id: string): ChatMessage => ({
  id,
  role: 'assistant',
  text: '',
  status: 'streaming',
  toolCalls: [],
});

/** The user message before reply `replyId` gets its server id, which the reply's `llm_complete` names. */
function identifyQuestion(
  log: readonly ChatMessage[],
  replyId: string,
  messageId: string | undefined,
): readonly ChatMessage[] {
  const index = log.findIndex((message) => message.id === replyId) - 1;
  const question = log[index];
  if (!messageId || question?.role !== 'user' || question.messageId === messageId) return log;
  return [...log.slice(0, index), { ...question, messageId }, ...log.slice(index + 1)];
}

function applyReplyEvent(reply: ChatMessage, event: ReplyEvent): ChatMessage {
  switch (event.type) {
    case 'llm_chunk':
      return event.data.chunk ? { ...reply, text: reply.text + event.data.chunk } : reply;
    case 'llm_reasoning':
      return event.data.chunk ? { ...reply, reasoning: (reply.reasoning ?? '') + event.data.chunk } : reply;
    case 'llm_complete': {
      const { fullText, finishReason, usage, messageId } = event.data;
      return {
        ...reply,
        text: fullText,
        status: 'done',
        finishReason,
        ...(usage ? { usage } : {}),
        ...(messageId ? { messageId } : {}),
      };
    }
    case 'tool_call': {
      const { toolCallId, toolName, args, status, reason } = event.data;
      const known = reply.toolCalls.some((call) => call.id === toolCallId);
      const next: ChatToolCall['status'] = status === 'start' ? 'running' : status;
      const why = status === 'denied' && reason !== undefined ? { error: reason } : {};
      const toolCalls = known
        ? reply.toolCalls.map((call) => (call.id === toolCallId ? { ...call, args, status: next, ...why } : call))
        : [...reply.toolCalls, { id: toolCallId, name: toolName, args, status: next, ...why }];
      return { ...reply, toolCalls };
    }
    case 'tool_result': {
      const { toolCallId, toolName, result, error } = event.data;
      const outcome: Partial<ChatToolCall> =
        error === undefined ? { status: 'complete', result } : { status: 'error', error };
      const known = reply.toolCalls.some((call) => call.id === toolCallId);
      const toolCalls = known
        ? reply.toolCalls.map((call) =>
            // A declined call's result is what the model was told: the call stays `denied`.
            call.id !== toolCallId
              ? call
              : call.status === 'denied'
                ? { ...call, error: call.error ?? error }
                : { ...call, ...outcome },
          )
        : [
            ...reply.toolCalls,
            { id: toolCallId, name: toolName, args: undefined, status: 'running' as const, ...outcome },
          ];
      return { ...reply, toolCalls };
    }
  }
}

/** Applies `change` to the streaming reply `id`; a reply that already ended stays as it is. */
function updateReply(
  log: readonly ChatMessage[],
  id: string,
  change: (reply: ChatMessage) => ChatMessage,
): readonly ChatMessage[] {
  const index = log.findIndex((message) => message.id === id);
  const reply = log[index];
  if (!reply || reply.status !== 'streaming') return log;
  const next = change(reply);
  if (next === reply) return log;
  return [...log.slice(0, index), next, ...log.slice(index + 1)];
}
