/**
 * Factories for every server message, typed from the protocol codecs and checked with the
 * client's own decoder, so a test never writes a message the client would reject. Browser-safe,
 * and as light as the client (no io-ts at run time).
 */
import * as E from 'fp-ts/Either';
import type {
  ConversationSummary,
  HistoryMessage,
  ServerMessageOf,
  ServerMessageType,
  SessionStatus,
  ToolCallStatus,
  Usage,
} from '../protocol/codecs';
import type { ErrorCode } from '../protocol/codes';
import { decodeServerMessage } from '../protocol/decode-server-message';
import { encodeMessage } from '../protocol/encode';

/** The envelope fields a test may set: the message `id` (one is made when absent) and its `seq` in the session's stream. */
export interface Envelope {
  readonly id?: string;
  readonly seq?: number;
}

let counter = 0;

/**
 * Any server message from its type and data. Throws a `TypeError` naming the field when the
 * message would not decode on the client (a test bug, not a case to test: send such frames as
 * raw text with `FakeWebSocket.deliver`).
 */
export function makeServerMessage<K extends ServerMessageType>(
  type: K,
  data: ServerMessageOf<K>['data'],
  envelope: Envelope = {},
): ServerMessageOf<K> {
  const message = {
    type,
    id: envelope.id ?? `fake-${++counter}`,
    data,
    ...(envelope.seq === undefined ? {} : { seq: envelope.seq }),
  } as unknown as ServerMessageOf<K>;
  const decoded = decodeServerMessage(encodeMessage(message));
  if (E.isLeft(decoded)) throw new TypeError(`not a valid ${type} message: ${decoded.left.message}`);
  return message;
}

/** The greeting of a connection (or, with `resumed`, the confirmation of a resume). */
export const makeSession = (
  sessionId = 'session-1',
  extra: Omit<ServerMessageOf<'session'>['data'], 'sessionId' | 'resumeToken'> & { resumeToken?: string } = {},
  envelope?: Envelope,
) => makeServerMessage('session', { resumeToken: `token-${sessionId}`, ...extra, sessionId }, envelope);

/** A piece of the reply to `requestId`. */
export const makeChunk = (requestId: string, chunk: string, envelope?: Envelope) =>
  makeServerMessage('llm_chunk', { chunk, isComplete: false, requestId }, envelope);

/** The end of the reply to `requestId`. */
export const makeComplete = (
  requestId: string,
  fullText: string,
  extra: { finishReason?: ServerMessageOf<'llm_complete'>['data']['finishReason']; usage?: Usage } = {},
  envelope?: Envelope,
) =>
  makeServerMessage(
    'llm_complete',
    { fullText, requestId, finishReason: extra.finishReason ?? 'stop', ...(extra.usage ? { usage: extra.usage } : {}) },
    envelope,
  );

/** A piece of the model's reasoning in the reply to `requestId`. */
export const makeReasoning = (requestId: string, chunk: string, envelope?: Envelope) =>
  makeServerMessage('llm_reasoning', { chunk, requestId }, envelope);

/**
 * A tool call of the reply to `requestId`: `start` when the model asks (or `approval_required`,
 * `client_execute` first), then `complete`, `error` or `denied`.
 */
export const makeToolCall = (
  requestId: string,
  call: {
    toolCallId: string;
    toolName: string;
    args?: unknown;
    status?: ToolCallStatus;
    timeoutMs?: number;
    reason?: string;
  },
  envelope?: Envelope,
) => makeServerMessage('tool_call', { args: {}, status: 'start', ...call, requestId }, envelope);

/** What a tool returned (`result`) or why it failed (`error`). */
export const makeToolResult = (
  requestId: string,
  result: { toolCallId: string; toolName: string; result?: unknown; error?: string },
  envelope?: Envelope,
) => makeServerMessage('tool_result', { ...result, requestId }, envelope);

/** The session's status, answering the control `requestId` when given. */
export const makeStatus = (status: SessionStatus, requestId?: string, envelope?: Envelope) =>
  makeServerMessage('status', { status, ...(requestId === undefined ? {} : { requestId }) }, envelope);

/** The conversation, answering `get_history` or `clear_history`. */
export const makeHistory = (messages: HistoryMessage[], requestId?: string, envelope?: Envelope) =>
  makeServerMessage('history', { messages, ...(requestId === undefined ? {} : { requestId }) }, envelope);

/**
 * A request-level failure, as the server reports it: `retryAfterMs` is how long the server asks
 * to wait before a retry (`rate_limited` carries it; the client's `ServerError.retryAfterMs`).
 */
export const makeError = (
  code: ErrorCode,
  message: string,
  extra: { requestId?: string; retryable?: boolean; retryAfterMs?: number } = {},
  envelope?: Envelope,
) =>
  makeServerMessage(
    'error',
    {
      code,
      message,
      retryable: extra.retryable ?? false,
      ...(extra.requestId === undefined ? {} : { requestId: extra.requestId }),
      ...(extra.retryAfterMs === undefined ? {} : { retryAfterMs: extra.retryAfterMs }),
    },
    envelope,
  );

/** A page of conversations, answering `list_conversations` `requestId`. */
export const makeConversations = (
  requestId: string,
  conversations: ConversationSummary[],
  nextCursor?: string,
  envelope?: Envelope,
) =>
  makeServerMessage(
    'conversations',
    { conversations, requestId, ...(nextCursor === undefined ? {} : { nextCursor }) },
    envelope,
  );

/** A conversation renamed (with its `title`) or deleted, answering `rename_conversation` or `delete_conversation`. */
export const makeConversationUpdated = (
  requestId: string,
  conversationId: string,
  change: 'renamed' | 'deleted',
  title?: string,
  envelope?: Envelope,
) =>
  makeServerMessage(
    'conversation_updated',
    { conversationId, change, requestId, ...(title === undefined ? {} : { title }) },
    envelope,
  );

/** The answer to the client's `ping` `requestId`. */
export const makePong = (requestId: string, envelope?: Envelope) => makeServerMessage('pong', { requestId }, envelope);

/** An application message, as `WSServer.sendToClient` and `broadcast` push them. */
export const makeNotification = (event: string, payload?: unknown, envelope?: Envelope) =>
  makeServerMessage('notification', { event, ...(payload === undefined ? {} : { payload }) }, envelope);

/** The server is about to close the connection: reconnect no sooner than `retryAfterMs`. */
export const makeClosing = (reason = 'server stopping', retryAfterMs = 1000, envelope?: Envelope) =>
  makeServerMessage('closing', { reason, retryAfterMs }, envelope);

/**
 * A whole text reply to `requestId` as the server streams it: one `llm_chunk` per piece, the
 * empty `isComplete` chunk, then the `llm_complete` with the joined text.
 */
export function makeReply(
  requestId: string,
  pieces: readonly string[],
  extra: { finishReason?: ServerMessageOf<'llm_complete'>['data']['finishReason']; usage?: Usage } = {},
): Array<ServerMessageOf<'llm_chunk'> | ServerMessageOf<'llm_complete'>> {
  return [
    ...pieces.map((piece) => makeChunk(requestId, piece)),
    makeServerMessage('llm_chunk', { chunk: '', isComplete: true, requestId }),
    makeComplete(requestId, pieces.join(''), extra),
  ];
}
