/**
 * The protocol's message types as plain type aliases, apart from the io-ts codecs of the same
 * names. An entry that offers the types but not the codecs (`llm-ws/client`, `llm-ws/angular`)
 * exports these: re-exporting a codec's name with `export type` still gives the bundled .d.ts a
 * value declaration, which would type-check `ServerMessage.decode(...)` against an entry that has
 * no such value at run time.
 */
import type * as codecs from './codecs';
import type * as codes from './codes';

/** Any message the server may send. */
export type ServerMessage = codecs.ServerMessage;
/** Any message a client may send. */
export type ClientMessage = codecs.ClientMessage;
/** A session's status, as `status` messages and `sessionStatus$` report it. */
export type SessionStatus = codecs.SessionStatus;
/** The options of a `user_message`. */
export type UserMessageOptions = codecs.UserMessageOptions;
/** The controls a client may send. */
export type ControlType = codecs.ControlType;
/** A chunk of a reply's text (`llm_chunk`). */
export type ChunkMessage = codecs.ChunkMessage;
/** A piece of the model's reasoning (`llm_reasoning`), apart from the reply's text. */
export type ReasoningMessage = codecs.ReasoningMessage;
/** The user's answer to a tool call waiting for approval (`tool_approval`). */
export type ToolApprovalMessage = codecs.ToolApprovalMessage;
/** A client tool's result, from the client (`tool_result`). */
export type ClientToolResultMessage = codecs.ClientToolResultMessage;
/** A tool the client runs, as a `user_message` declares it (`clientTools`). */
export type ClientToolDeclaration = codecs.ClientToolDeclaration;
/** A picture or file sent with a `user_message` (`attachments`). */
export type Attachment = codecs.Attachment;
/** A picture or file of a message, as history keeps it (by reference). */
export type HistoryAttachment = codecs.HistoryAttachment;
/** The end of a reply (`llm_complete`). */
export type CompleteMessage = codecs.CompleteMessage;
/** A tool call starting, completing or failing (`tool_call`). */
export type ToolCallMessage = codecs.ToolCallMessage;
/** A tool call's result (`tool_result`). */
export type ToolResultMessage = codecs.ToolResultMessage;
/** A request that failed (`error`). */
export type ErrorMessage = codecs.ErrorMessage;
/** One message of a conversation's history. */
export type HistoryMessage = codecs.HistoryMessage;
/** Why a reply ended. */
export type FinishReason = codecs.FinishReason;
/** Token counts of a reply, when the model reports them. */
export type Usage = codecs.Usage;
/** One conversation as a list shows it (`listConversations`). */
export type ConversationSummary = codecs.ConversationSummary;
/** The code of an `error` message. */
export type ErrorCode = codes.ErrorCode;
