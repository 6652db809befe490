/**
 * The wire format, once. Each codec is the single source of truth for its message: the
 * TypeScript type of the same name is derived from it, never written by hand.
 *
 * Every object codec is `t.strict` (exact): decoding drops keys the protocol does not know,
 * so nothing the peer invents (including `__proto__`) reaches our objects.
 */
import * as t from 'io-ts';
import { ErrorCode } from './codes';
import { MAX_MESSAGE_ID_LENGTH } from './limits';

// ---------------------------------------------------------------------------------------------
// Shared field types

export { MAX_MESSAGE_ID_LENGTH } from './limits';

/**
 * A codec for the values of `base` that satisfy `predicate`. Unlike `t.brand`, the type stays
 * plain (`string`, `number`), so users build messages from literals without casts.
 */
function constrained<A>(base: t.Type<A, A>, predicate: (value: A) => boolean, name: string): t.Type<A, A> {
  return new t.Type<A, A, unknown>(
    name,
    (u): u is A => base.is(u) && predicate(u),
    (u, c) => {
      const result = base.validate(u, c);
      // io-ts's own Either, read without fp-ts: this module must import nothing the client does (tsup.config.ts).
      if (result._tag === 'Left') return result;
      return predicate(result.right) ? t.success(result.right) : t.failure(u, c);
    },
    t.identity,
  );
}

/** A message id: a non-empty string of at most {@link MAX_MESSAGE_ID_LENGTH} characters. */
export const MessageId = constrained(t.string, (s) => s.length > 0 && s.length <= MAX_MESSAGE_ID_LENGTH, 'MessageId');

/** Sampling temperature, from 0 to 2 as the OpenAI API accepts. */
export const Temperature = constrained(t.number, (n) => Number.isFinite(n) && n >= 0 && n <= 2, 'Temperature');

/** A whole number greater than zero. */
export const PositiveInt = constrained(t.number, (n) => Number.isSafeInteger(n) && n > 0, 'PositiveInt');

/** A position in a session's stream: a whole number of 0 or more (0 before the first message). */
export const SeqNumber = constrained(t.number, (n) => Number.isSafeInteger(n) && n >= 0, 'SeqNumber');

/** Why a reply ended. `aborted` means the client asked to stop it. */
export const FinishReason = t.keyof({ stop: null, length: null, content_filter: null, aborted: null });
/** Why a reply ended. */
export type FinishReason = t.TypeOf<typeof FinishReason>;

/** Token counts reported by the model, summed over every model call of one reply. */
export const Usage = t.intersection([
  t.strict({
    promptTokens: t.number,
    completionTokens: t.number,
    totalTokens: t.number,
  }),
  /** True when the model did not report the last call's usage (an abort): its tokens are counted from the stream. */
  t.exact(t.partial({ estimated: t.boolean })),
]);
/** Token counts of one reply. */
export type Usage = t.TypeOf<typeof Usage>;

/** What the session is doing. */
export const SessionStatus = t.keyof({
  idle: null,
  thinking: null,
  streaming: null,
  calling_tool: null,
  paused: null,
});
/** What the session is doing. */
export type SessionStatus = t.TypeOf<typeof SessionStatus>;

/** A tool call the assistant asked for, as kept in history. `arguments` is the raw JSON text. */
export const HistoryToolCall = t.strict({
  id: t.string,
  name: t.string,
  arguments: t.string,
});
/** A tool call kept in history. */
export type HistoryToolCall = t.TypeOf<typeof HistoryToolCall>;

/**
 * One message of a conversation, in the protocol's own (camelCase) shape; providers map it to
 * their API's shape. `finishReason: 'aborted'` marks an assistant answer that was cut short.
 */
export const HistoryMessage = t.intersection([
  t.strict({
    role: t.keyof({ system: null, user: null, assistant: null, tool: null }),
    content: t.string,
  }),
  t.exact(
    t.partial({
      toolCalls: t.array(HistoryToolCall),
      toolCallId: t.string,
      toolName: t.string,
      finishReason: FinishReason,
    }),
  ),
]);
/** One message of a conversation. */
export type HistoryMessage = t.TypeOf<typeof HistoryMessage>;

// ---------------------------------------------------------------------------------------------
// Client to server

/** Per-message options of a `user_message`. */
export const UserMessageOptions = t.exact(
  t.partial({
    /** Sampling temperature, 0 to 2. */
    temperature: Temperature,
    /** Upper bound on generated tokens per model call. */
    maxTokens: PositiveInt,
    /** Names of the server's tools the model may use for this message; all of them when absent. */
    tools: t.array(t.string),
    /** What happens to this reply if the connection drops: run on for a resume (the default), or cancel. */
    onDisconnect: t.keyof({ continue: null, cancel: null }),
  }),
);
/** Per-message options of a `user_message`. */
export type UserMessageOptions = t.TypeOf<typeof UserMessageOptions>;

/** The user says something; the server answers with a streamed reply. */
export const UserMessage = t.strict({
  type: t.literal('user_message'),
  id: MessageId,
  data: t.intersection([t.strict({ text: t.string }), t.exact(t.partial({ options: UserMessageOptions }))]),
});
/** The user says something. */
export type UserMessage = t.TypeOf<typeof UserMessage>;

/** What a `control` message asks for. */
export const ControlType = t.keyof({
  abort: null,
  pause: null,
  resume: null,
  clear_history: null,
  get_history: null,
  get_status: null,
});
/** What a `control` message asks for. */
export type ControlType = t.TypeOf<typeof ControlType>;

/**
 * Controls the session. `requestId`, with `abort`, names the reply to stop, so an abort that
 * races with the end of its reply cannot stop the next one.
 */
export const ControlMessage = t.strict({
  type: t.literal('control'),
  id: MessageId,
  data: t.intersection([t.strict({ type: ControlType }), t.exact(t.partial({ requestId: t.string }))]),
});
/** Controls the session. */
export type ControlMessage = t.TypeOf<typeof ControlMessage>;

/**
 * Protocol-level heartbeat from the client (browsers cannot send WebSocket pings). `lastSeq`
 * acknowledges the session's messages up to it, so the server can drop them from its replay buffer.
 */
export const PingMessage = t.intersection([
  t.strict({ type: t.literal('ping'), id: MessageId }),
  t.exact(t.partial({ data: t.exact(t.partial({ lastSeq: SeqNumber })) })),
]);
/** Protocol-level heartbeat from the client. */
export type PingMessage = t.TypeOf<typeof PingMessage>;

/**
 * Takes over an earlier session after a reconnect, as the first message on the new connection:
 * the server replays every message after `lastSeq`, then confirms with a `session` message.
 */
export const ResumeMessage = t.strict({
  type: t.literal('resume'),
  id: MessageId,
  data: t.strict({ sessionId: t.string, resumeToken: t.string, lastSeq: SeqNumber }),
});
/** Takes over an earlier session after a reconnect. */
export type ResumeMessage = t.TypeOf<typeof ResumeMessage>;

/** Codecs of client messages by their `type` tag. */
export const clientMessageCodecs = {
  user_message: UserMessage,
  control: ControlMessage,
  ping: PingMessage,
  resume: ResumeMessage,
} as const;

/** Any message a client may send. */
export const ClientMessage = t.union([UserMessage, ControlMessage, PingMessage, ResumeMessage]);
/** Any message a client may send. */
export type ClientMessage = t.TypeOf<typeof ClientMessage>;
/** The `type` tags of client messages. */
export type ClientMessageType = ClientMessage['type'];

// ---------------------------------------------------------------------------------------------
// Server to client

/**
 * A server message: `seq` numbers the messages of a session's stream (1, 2, 3...) and is what a
 * resume counts from. Connection-level messages (`session`, `pong`, `closing`) carry none.
 */
function serverMessage<Tag extends string, D extends t.Mixed>(type: Tag, data: D) {
  return t.intersection([t.strict({ type: t.literal(type), id: t.string, data }), t.exact(t.partial({ seq: t.number }))]);
}

/**
 * Sent first on every connection, naming its session and the secret that resumes it; sent again
 * with `resumed: true` (and the `resume` message's id as `requestId`) once a resume has replayed.
 */
export const SessionMessage = serverMessage(
  'session',
  t.intersection([
    t.strict({ sessionId: t.string, resumeToken: t.string }),
    t.exact(t.partial({ resumed: t.boolean, requestId: t.string, lastSeq: t.number })),
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

/** The reply is over: its whole text, why it ended and, when the model said, the token usage. */
export const CompleteMessage = serverMessage(
  'llm_complete',
  t.intersection([
    t.strict({ fullText: t.string, finishReason: FinishReason }),
    t.exact(t.partial({ usage: Usage, requestId: t.string })),
  ]),
);
/** The reply is over. */
export type CompleteMessage = t.TypeOf<typeof CompleteMessage>;

/** Where a tool call is: asked for (`start`), finished (`complete`) or failed (`error`). */
export const ToolCallStatus = t.keyof({ start: null, complete: null, error: null });
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
    PushedRequestId,
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
  t.intersection([t.strict({ status: SessionStatus }), t.exact(t.partial({ requestId: t.string }))]),
);
/** The session's status. */
export type StatusMessage = t.TypeOf<typeof StatusMessage>;

/** The conversation so far (without the system prompt), answering `get_history` or `clear_history`. */
export const HistoryReplyMessage = serverMessage(
  'history',
  t.intersection([t.strict({ messages: t.array(HistoryMessage) }), t.exact(t.partial({ requestId: t.string }))]),
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

/** Codecs of server messages by their `type` tag. */
export const serverMessageCodecs = {
  session: SessionMessage,
  llm_chunk: ChunkMessage,
  llm_complete: CompleteMessage,
  tool_call: ToolCallMessage,
  tool_result: ToolResultMessage,
  status: StatusMessage,
  history: HistoryReplyMessage,
  error: ErrorMessage,
  pong: PongMessage,
  notification: NotificationMessage,
  closing: ClosingMessage,
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
  CompleteMessage,
  ToolCallMessage,
  ToolResultMessage,
  StatusMessage,
  HistoryReplyMessage,
  ErrorMessage,
  PongMessage,
  NotificationMessage,
  ClosingMessage,
]);
/** Any message the server may send. */
export type ServerMessage = t.TypeOf<typeof ServerMessage>;
/** The `type` tags of server messages. */
export type ServerMessageType = ServerMessage['type'];
/** A server message of one type. */
export type ServerMessageOf<K extends ServerMessageType> = Extract<ServerMessage, { type: K }>;
/** A server message before the server gives it an id and a place in the stream. */
export type ServerMessageInput = ServerMessage extends infer M ? (M extends ServerMessage ? Omit<M, 'id' | 'seq'> : never) : never;

/** One event of a reply, as the client's `send()` emits them; the last is always the `llm_complete`. */
export type ReplyEvent = ChunkMessage | ToolCallMessage | ToolResultMessage | CompleteMessage;
