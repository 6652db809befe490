/** Longest message id the server accepts from a client. */
export const MAX_MESSAGE_ID_LENGTH = 128;
/** Most client tools one `user_message` may declare. */
export const MAX_CLIENT_TOOLS = 32;
/** Longest description of a client tool, in characters. */
export const MAX_CLIENT_TOOL_DESCRIPTION_LENGTH = 4096;
/** Longest JSON text of a client tool's parameter schema, in UTF-8 bytes. */
export const MAX_CLIENT_TOOL_PARAMETERS_BYTES = 16 * 1024;
/** Longest `error` of a client tool's `tool_result`, in characters. */
export const MAX_CLIENT_TOOL_RESULT_ERROR_LENGTH = 4096;
/** Longest `tracestate` of a `user_message`, in characters (W3C Trace Context: 32 members, 512 characters kept). */
export const MAX_TRACESTATE_LENGTH = 512;
/** Longest `reason` of a `tool_approval`, in characters. */
export const MAX_APPROVAL_REASON_LENGTH = 1000;
/**
 * Largest client tool result a client sends and the server takes, as JSON, unless configured, in
 * UTF-8 bytes (256 KiB): the client's `maxToolResultBytes` and the server's `maxClientToolResultBytes`.
 */
export const DEFAULT_MAX_CLIENT_TOOL_RESULT_BYTES = 256 * 1024;
/** Most attachments one `user_message` may carry. */
export const MAX_ATTACHMENTS = 16;
/** Longest `mediaType` or `name` of an attachment, in characters. */
export const MAX_ATTACHMENT_LABEL_LENGTH = 255;
