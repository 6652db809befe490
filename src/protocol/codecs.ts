/**
 * The wire format, once. Each codec is the single source of truth for its message: the
 * TypeScript type of the same name is derived from it, never written by hand.
 *
 * Every object codec is `t.strict` (exact): decoding drops keys the protocol does not know,
 * so nothing the peer invents (including `__proto__`) reaches our objects.
 */
import * as t from 'io-ts';
import { ErrorCode } from './codes';
import { FinishReason, HistoryMessage, SessionStatus, Usage } from './fields';

export {
  MAX_APPROVAL_REASON_LENGTH,
  MAX_CLIENT_TOOL_DESCRIPTION_LENGTH,
  MAX_CLIENT_TOOL_PARAMETERS_BYTES,
  MAX_CLIENT_TOOL_RESULT_ERROR_LENGTH,
  MAX_CLIENT_TOOLS,
  MAX_MESSAGE_ID_LENGTH,
  MAX_ATTACHMENTS,
} from './limits';
// Shared field types, and the client's messages.
export {
  MessageId,
  Temperature,
  PositiveInt,
  SeqNumber,
  FinishReason,
  Usage,
  SessionStatus,
  HistoryToolCall,
  HistoryMessage,
  HistoryAttachment,
} from './fields';
export * from './client-codecs';

// ---------------------------------------------------------------------------------------------
// Server to client

/**
 * A server message: `seq` numbers the messages of a session's stream (1, 2, 3...) and is what a
 * resume counts from. Connection-level messages (`session`, `pong`, `closing`) carry none.
 */
function serverMessage<Tag extends string, D extends t.Mixed>(type: Tag, data: D) {
  return t.intersection([
    t.strict({ type: t.literal(type), id: t.string, data }),
    t.exact(t.partial({ seq: t.number })),
  ]);
}

/**
 * What the server does with a `user_message` that arrives while a reply runs: answers it once
 * the replies before it ended (`queue`), stops the running reply and answers it (`interrupt`),
 * or refuses it with `busy` (`reject`).
 */
export const ConcurrentMessages = t.keyof({ queue: null, interrupt: null, reject: null });
/** What the server does with a `user_message` that arrives while a reply runs. */
export type ConcurrentMessages = t.TypeOf<typeof ConcurrentMessages>;

/**
 * Sent first on every connection, naming its session and the secret that resumes it; sent again
 * with `resumed: true` (and the `resume` message's id as `requestId`) once a resume has replayed.
 * `concurrentMessages` says what the server does with a message sent while a reply runs (a
 * server that does not say refuses it with `busy`, so a client sends one at a time).
 */
export const SessionMessage = serverMessage(
  'session',
  t.intersection([
    t.strict({ sessionId: t.string, resumeToken: t.string }),
    t.exact(
      t.partial({
        resumed: t.boolean,
        requestId: t.string,
        lastSeq: t.number,
        concurrentMessages: ConcurrentMessages,
      }),
    ),
  ]),
);
/** Sent once on connect. */
export type SessionMessage = t.TypeOf<typeof SessionMessage>;

/**
 * `requestId` of the reply messages (`llm_chunk`, `llm_complete`, `tool_call`, `tool_result`):
 * always set on the messages of a reply (the `user_message`'s id); absent on one the application
 * pushed with `WSServer.sendToClient` or `broadcast` that belongs to no request.
 */
const PushedRequestId = t.exact(t.partial({ requestId: t.string }));

/**
 * A piece of the reply's text. Pieces of one reply concatenate to its `fullText`; the last piece
 * of a reply is empty with `isComplete: true` and comes right before the `llm_complete`.
 */
export const ChunkMessage = serverMessage(
  'llm_chunk',
  t.intersection([t.strict({ chunk: t.string, isComplete: t.boolean }), PushedRequestId]),
);
/** A piece of the reply's text. */
export type ChunkMessage = t.TypeOf<typeof ChunkMessage>;

/**
 * A piece of the model's reasoning (what DeepSeek, vLLM, Ollama and OpenRouter stream as
 * `reasoning_content` or `reasoning`), before or between its answer's text. Not part of the
 * reply's `fullText`.
 */
export const ReasoningMessage = serverMessage(
  'llm_reasoning',
  t.intersection([t.strict({ chunk: t.string }), PushedRequestId]),
);
/** A piece of the model's reasoning. */
export type ReasoningMessage = t.TypeOf<typeof ReasoningMessage>;

/**
 * The reply is over: its whole text, why it ended and, when the model said, the token usage;
 * `messageId` is the id of its answer in history (absent when nothing entered history) and
 * `userMessageId` that of the user message it answers.
 */
export const CompleteMessage = serverMessage(
  'llm_complete',
  t.intersection([
    t.strict({ fullText: t.string, finishReason: FinishReason }),
    t.exact(t.partial({ usage: Usage, requestId: t.string, messageId: t.string, userMessageId: t.string })),
  ]),
);
/** The reply is over. */
export type CompleteMessage = t.TypeOf<typeof CompleteMessage>;

/**
 * Where a tool call is: waiting for the user's yes or no (`approval_required`), waiting for the
 * client to run it (`client_execute`), running (`start`), finished (`complete`), failed
 * (`error`), or declined by the user or for want of an answer (`denied`).
 */
export const ToolCallStatus = t.keyof({
  start: null,
  complete: null,
  error: null,
  approval_required: null,
  client_execute: null,
  denied: null,
});
/** Where a tool call is. */
export type ToolCallStatus = t.TypeOf<typeof ToolCallStatus>;

/** The model asked for a tool, or a tool call changed state. */
export const ToolCallMessage = serverMessage(
  'tool_call',
  t.intersection([
    t.strict({
      toolCallId: t.string,
      toolName: t.string,
      args: t.unknown,
      status: ToolCallStatus,
    }),
    t.exact(
      t.partial({
        requestId: t.string,
        /** With `approval_required` or `client_execute`: how long the server waits for the answer, in ms. */
        timeoutMs: t.number,
        /** With `denied`: why (the user's reason, or that no answer came in time). */
        reason: t.string,
      }),
    ),
  ]),
);
/** The model asked for a tool, or a tool call changed state. */
export type ToolCallMessage = t.TypeOf<typeof ToolCallMessage>;

/** What a tool returned (`result`) or why it failed (`error`); the model sees the same. */
export const ToolResultMessage = serverMessage(
  'tool_result',
  t.intersection([
    t.strict({ toolCallId: t.string, toolName: t.string }),
    t.exact(t.partial({ result: t.unknown, error: t.string, requestId: t.string })),
  ]),
);
/** What a tool returned or why it failed. */
export type ToolResultMessage = t.TypeOf<typeof ToolResultMessage>;

/** The session's status changed, or a control asked for it. */
export const StatusMessage = serverMessage(
  'status',
  t.intersection([
    t.strict({ status: SessionStatus }),
    // usage: the conversation's total so far (every reply's llm_complete usage summed), on the answer to get_status.
    t.exact(t.partial({ requestId: t.string, usage: Usage })),
  ]),
);
/** The session's status. */
export type StatusMessage = t.TypeOf<typeof StatusMessage>;

/** The conversation so far (without the system prompt), answering `get_history` or `clear_history`. */
export const HistoryReplyMessage = serverMessage(
  'history',
  t.intersection([
    t.strict({ messages: t.array(HistoryMessage) }),
    // usage: the conversation's total so far, as on the answer to get_status.
    t.exact(t.partial({ requestId: t.string, usage: Usage })),
  ]),
);
/** The conversation so far. */
export type HistoryReplyMessage = t.TypeOf<typeof HistoryReplyMessage>;

/** A request-level failure. The connection stays open. */
export const ErrorMessage = serverMessage(
  'error',
  t.intersection([
    t.strict({ code: ErrorCode, message: t.string, retryable: t.boolean }),
    // retryAfterMs: how long to wait before retrying, when the server (or the model endpoint behind it) said.
    t.exact(t.partial({ requestId: t.string, retryAfterMs: t.number })),
  ]),
);
/** A request-level failure. */
export type ErrorMessage = t.TypeOf<typeof ErrorMessage>;

/** Answers a client `ping`. */
export const PongMessage = serverMessage('pong', t.strict({ requestId: t.string }));
/** Answers a client `ping`. */
export type PongMessage = t.TypeOf<typeof PongMessage>;

/** An application message pushed by `WSServer.sendToClient` or `broadcast`. */
export const NotificationMessage = serverMessage(
  'notification',
  t.intersection([t.strict({ event: t.string }), t.exact(t.partial({ payload: t.unknown }))]),
);
/** An application message pushed by the server. */
export type NotificationMessage = t.TypeOf<typeof NotificationMessage>;

/** The server is about to close this connection: reconnect no sooner than `retryAfterMs`. */
export const ClosingMessage = serverMessage('closing', t.strict({ reason: t.string, retryAfterMs: t.number }));
/** The server is about to close this connection. */
export type ClosingMessage = t.TypeOf<typeof ClosingMessage>;

/** One conversation as a list shows it: its title is the start of its first message until renamed. */
export const ConversationSummary = t.intersection([
  t.strict({
    id: t.string,
    title: t.string,
    /** In ms since the epoch. */
    createdAt: t.number,
    /** In ms since the epoch. */
    updatedAt: t.number,
    messageCount: t.number,
  }),
  t.exact(
    t.partial({
      /** The conversation's total so far (every reply's `llm_complete` usage summed), as `get_status` says it; absent before a reply reported any. */
      usage: Usage,
    }),
  ),
]);
/** One conversation as a list shows it. */
export type ConversationSummary = t.TypeOf<typeof ConversationSummary>;

/** Answers `list_conversations`: a page of the principal's conversations, the most recently updated first. */
export const ConversationsMessage = serverMessage(
  'conversations',
  t.intersection([
    t.strict({ conversations: t.array(ConversationSummary), requestId: t.string }),
    t.exact(t.partial({ nextCursor: t.string })),
  ]),
);
/** A page of the principal's conversations. */
export type ConversationsMessage = t.TypeOf<typeof ConversationsMessage>;

/** Answers `rename_conversation` (`renamed`, with the title) and `delete_conversation` (`deleted`). */
export const ConversationUpdatedMessage = serverMessage(
  'conversation_updated',
  t.intersection([
    t.strict({
      conversationId: t.string,
      change: t.keyof({ renamed: null, deleted: null }),
      requestId: t.string,
    }),
    t.exact(t.partial({ title: t.string })),
  ]),
);
/** A conversation was renamed or deleted. */
export type ConversationUpdatedMessage = t.TypeOf<typeof ConversationUpdatedMessage>;

/** Codecs of server messages by their `type` tag. */
export const serverMessageCodecs = {
  session: SessionMessage,
  llm_chunk: ChunkMessage,
  llm_reasoning: ReasoningMessage,
  llm_complete: CompleteMessage,
  tool_call: ToolCallMessage,
  tool_result: ToolResultMessage,
  status: StatusMessage,
  history: HistoryReplyMessage,
  error: ErrorMessage,
  pong: PongMessage,
  notification: NotificationMessage,
  closing: ClosingMessage,
  conversations: ConversationsMessage,
  conversation_updated: ConversationUpdatedMessage,
} as const;

/**
 * Codecs of the server messages an application may push with `WSServer.sendToClient` or
 * `broadcast`. Not `status` (the session's status is the server's to say), nor the
 * connection-level `session`, `pong` and `closing` (they are not part of a session's stream).
 * Reply messages may be pushed without a `requestId`: they then belong to no request.
 */
export const pushableMessageCodecs = {
  notification: NotificationMessage,
  llm_chunk: ChunkMessage,
  llm_complete: CompleteMessage,
  tool_call: ToolCallMessage,
  tool_result: ToolResultMessage,
  history: HistoryReplyMessage,
  error: ErrorMessage,
} as const;
/** The `type` tags of messages an application may push. */
export type PushableMessageType = keyof typeof pushableMessageCodecs;
/** A message an application may push to clients (the server gives it an id and a seq). */
export type PushMessage = Extract<ServerMessageInput, { type: PushableMessageType }>;

/** Any message the server may send. */
export const ServerMessage = t.union([
  SessionMessage,
  ChunkMessage,
  ReasoningMessage,
  CompleteMessage,
  ToolCallMessage,
  ToolResultMessage,
  StatusMessage,
  HistoryReplyMessage,
  ErrorMessage,
  PongMessage,
  NotificationMessage,
  ClosingMessage,
  ConversationsMessage,
  ConversationUpdatedMessage,
]);
/** Any message the server may send. */
export type ServerMessage = t.TypeOf<typeof ServerMessage>;
/** The `type` tags of server messages. */
export type ServerMessageType = ServerMessage['type'];
/** A server message of one type. */
export type ServerMessageOf<K extends ServerMessageType> = Extract<ServerMessage, { type: K }>;
/** A server message before the server gives it an id and a place in the stream. */
export type ServerMessageInput = ServerMessage extends infer M
  ? M extends ServerMessage
    ? Omit<M, 'id' | 'seq'>
    : never
  : never;

/** One event of a reply, as the client's `send()` emits them; the last is always the `llm_complete`. */
export type ReplyEvent = ChunkMessage | ReasoningMessage | ToolCallMessage | ToolResultMessage | CompleteMessage;
