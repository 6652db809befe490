import * as t from 'io-ts';

/**
 * Every `code` an `error` message can carry. The set is closed: clients may switch on it.
 * docs/PROTOCOL.md explains each one and whether a retry can help.
 */
export const ErrorCode = t.keyof({
  /** The frame was not valid JSON (or not valid UTF-8). */
  invalid_json: null,
  /** The frame was JSON but not a valid message: the message says which field and why. */
  invalid_message: null,
  /** The envelope's `type` is not one the server knows. */
  unknown_type: null,
  /** A binary frame: the protocol is text only. */
  unsupported_frame: null,
  /**
   * A `user_message` arrived while a reply was still running and the server refuses those
   * (`concurrentMessages: 'reject'`), or a control that changes the history (`clear_history`,
   * `rewind`) arrived while a reply was running or messages waited.
   */
  busy: null,
  /**
   * A `user_message` arrived while a reply was running and `maxQueuedMessages` messages already
   * waited behind it (`concurrentMessages: 'queue'`): send it again once a reply ended.
   */
  queue_full: null,
  /** The model endpoint failed: HTTP error after the SDK's retries, or a stream cut mid-way. */
  upstream_error: null,
  /** The model endpoint went silent for longer than the idle timeout. */
  upstream_timeout: null,
  /** The model endpoint, or this server's per-connection rate limit, asks the client to slow down. */
  rate_limited: null,
  /**
   * The principal used up its token budget (`tokenBudget`) or its messages of the period
   * (`messageRate`): refused before the model was called, or the reply stopped before its next
   * model call. `retryAfterMs` says when the period rolls over.
   */
  quota_exceeded: null,
  /**
   * The model's reply passed a limit of the server (`maxReplyTextBytes`, or `maxToolArgumentsBytes`
   * for one tool call's arguments): the reply was stopped and its model request cancelled.
   */
  reply_too_large: null,
  /** `options.tools` named a tool the server does not have. */
  unknown_tool: null,
  /**
   * `data.clientTools` of a `user_message` was refused: a name the server's tools (or another
   * client tool) already use, or a `parameters` schema that does not compile.
   */
  invalid_client_tools: null,
  /** A `tool_approval` or `tool_result` named no tool call that waits for one (already answered, timed out, or never asked). */
  unknown_tool_call: null,
  /** A `user_message` text longer than the server's `maxMessageLength`. */
  message_too_long: null,
  /**
   * An attachment of a `user_message` is larger than the server's `maxAttachmentBytes`, or all of
   * them together than its `maxMessageAttachmentBytes`.
   */
  attachment_too_large: null,
  /**
   * An attachment's media type is not one the server takes (`attachmentMediaTypes`), or it is a
   * remote URL of a kind the model cannot fetch (only pictures go by URL) or the server refuses
   * (`attachmentUrls: false`).
   */
  unsupported_attachment: null,
  /** An attachment's `data` is not base64, or its `data:` URL is malformed or names another media type. */
  invalid_attachment: null,
  /** A resume named a session the server does not have (expired, or the server restarted). */
  session_lost: null,
  /** A resume asked for messages the replay buffer no longer holds. */
  resume_gap: null,
  /** The shared session store (Redis) cannot be reached: the request was not run, or a running reply was stopped. Retry once it is back. */
  store_unavailable: null,
  /** The server process generating the reply went away before finishing it; the conversation lives on. */
  reply_interrupted: null,
  /** A conversation request named no conversation of the asking principal (deleted, or another's). */
  conversation_not_found: null,
  /** The server's session store cannot list conversations (the Redis store). */
  conversations_unsupported: null,
  /** Something failed inside the server; the session lives on. */
  internal_error: null,
});
/** One of the documented error codes. */
export type ErrorCode = t.TypeOf<typeof ErrorCode>;

/**
 * Close codes the server uses. Connection-level failures close the socket with one of these;
 * request-level failures send an `error` message instead and keep the socket open.
 */
export const CloseCode = {
  /** Normal closure. */
  Normal: 1000,
  /** The server is stopping (or the client navigated away). */
  GoingAway: 1001,
  /** A frame exceeded the server's `maxPayload`. */
  MessageTooBig: 1009,
  /** The server is at `maxConnections`: try again later. */
  TryAgainLater: 1013,
  /** A `resume` presented the wrong token, or named a session of another principal: knowing a session id gives no access. */
  Forbidden: 4403,
  /** The client read so slowly that the server's send buffer passed its hard limit. */
  TooSlow: 4408,
  /** Another connection resumed this session. */
  SessionTakenOver: 4409,
  /** The conversation (session) was deleted: a resume of it finds nothing (`session_lost`). */
  ConversationDeleted: 4410,
  /** A shared `resume` found its session with `maxConnectionsPerSession` connections already: try again once a tab closed. */
  TooManyConnections: 4429,
} as const;
/** A close code from {@link CloseCode}. */
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];
