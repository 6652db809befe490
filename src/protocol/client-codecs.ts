/**
 * The messages a client sends, as io-ts codecs with their types of the same name. `codecs.ts`
 * re-exports them.
 */
import * as t from 'io-ts';
import { constrained, MessageId, PositiveInt, SeqNumber, Temperature } from './fields';
import {
  MAX_APPROVAL_REASON_LENGTH,
  MAX_CLIENT_TOOL_DESCRIPTION_LENGTH,
  MAX_CLIENT_TOOL_PARAMETERS_BYTES,
  MAX_CLIENT_TOOL_RESULT_ERROR_LENGTH,
  MAX_CLIENT_TOOLS,
  MAX_ATTACHMENTS,
  MAX_ATTACHMENT_LABEL_LENGTH,
  MAX_TRACESTATE_LENGTH,
} from './limits';

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

/** Whether `s` is a W3C Trace Context `traceparent` of version 00 with a trace id and a parent id that are not all zeros. */
function isTraceparent(s: string): boolean {
  // Length first: the pattern then runs on 55 characters at most.
  return (
    s.length === 55 &&
    /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/.test(s) &&
    s.slice(3, 35) !== '0'.repeat(32) &&
    s.slice(36, 52) !== '0'.repeat(16)
  );
}

/** A W3C `traceparent` (version 00): `00-<trace id, 32 hex>-<parent id, 16 hex>-<flags, 2 hex>`, lowercase. */
export const Traceparent = constrained(t.string, isTraceparent, 'Traceparent');

/** A W3C `tracestate`: printable ASCII, at most {@link MAX_TRACESTATE_LENGTH} characters. */
export const Tracestate = constrained(
  t.string,
  (s) => s.length <= MAX_TRACESTATE_LENGTH && /^[\x20-\x7e]*$/.test(s),
  'Tracestate',
);

/** A tool's name as the OpenAI API takes it: 1 to 64 letters, digits, `_` or `-`. */
export const ToolName = constrained(t.string, (s) => /^[a-zA-Z0-9_-]{1,64}$/.test(s), 'ToolName');

/** A JSON object whose JSON text is at most {@link MAX_CLIENT_TOOL_PARAMETERS_BYTES} UTF-8 bytes (a JSON Schema). */
const ToolParameters = constrained(
  t.UnknownRecord,
  (schema) => {
    try {
      return new TextEncoder().encode(JSON.stringify(schema)).length <= MAX_CLIENT_TOOL_PARAMETERS_BYTES;
    } catch {
      return false;
    }
  },
  'ToolParameters',
);

/**
 * A tool the client runs itself, declared on a `user_message`: the model may call it beside the
 * server's tools, and the server asks the client to run it (`tool_call` with status
 * `client_execute`). `parameters` is the JSON Schema of its arguments.
 */
export const ClientToolDeclaration = t.strict({
  name: ToolName,
  description: constrained(t.string, (s) => s.length <= MAX_CLIENT_TOOL_DESCRIPTION_LENGTH, 'ToolDescription'),
  parameters: ToolParameters,
});
/** A tool the client runs itself. */
export type ClientToolDeclaration = t.TypeOf<typeof ClientToolDeclaration>;

/** At most {@link MAX_CLIENT_TOOLS} client tools. */
const ClientTools = constrained(
  t.array(ClientToolDeclaration),
  (tools) => tools.length <= MAX_CLIENT_TOOLS,
  'ClientTools',
);

const Label = constrained(t.string, (s) => s.length > 0 && s.length <= MAX_ATTACHMENT_LABEL_LENGTH, 'AttachmentLabel');

/**
 * A picture or file sent with a `user_message`: `mediaType` (`image/png`, `application/pdf`...)
 * and either `data` (the bytes, base64) or `url` (a `data:` URL, or an `https:` URL the model
 * fetches itself: the server never does). The server checks the type and size against its limits.
 */
export const Attachment = constrained(
  t.intersection([t.strict({ mediaType: Label }), t.exact(t.partial({ data: t.string, url: t.string, name: Label }))]),
  (a) => (a.data === undefined) !== (a.url === undefined),
  'Attachment',
);
/** A picture or file sent with a `user_message`. */
export type Attachment = t.TypeOf<typeof Attachment>;

/** At most {@link MAX_ATTACHMENTS} attachments. */
const Attachments = constrained(t.array(Attachment), (list) => list.length <= MAX_ATTACHMENTS, 'Attachments');

/** The user says something; the server answers with a streamed reply. */
export const UserMessage = t.strict({
  type: t.literal('user_message'),
  id: MessageId,
  data: t.intersection([
    t.strict({ text: t.string }),
    t.exact(
      t.partial({
        options: UserMessageOptions,
        /** Tools the client runs, offered to the model for this reply beside the server's. */
        clientTools: ClientTools,
        /** Pictures and files sent with the text (absent for a text-only message). */
        attachments: Attachments,
        /** W3C trace context of the client's span: the server's spans for this reply join that trace. */
        traceparent: Traceparent,
        /** W3C `tracestate` going with `traceparent`. */
        tracestate: Tracestate,
        /**
         * Edits user message `editOf` of the active path: this text starts a new branch beside it
         * (the old one stays, `switch_branch` goes back to it) and is answered.
         */
        editOf: MessageId,
        /**
         * Answers the last user message of the active path again (its `text` is not used): the new
         * answer is a branch beside the one before.
         */
        regenerate: t.boolean,
      }),
    ),
  ]),
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
  rewind: null,
  switch_branch: null,
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
  data: t.intersection([
    t.strict({ type: ControlType }),
    // messageId, with switch_branch: a message of the branch to make active.
    t.exact(t.partial({ requestId: t.string, messageId: MessageId })),
  ]),
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
 * With `share: true` the connection joins the session beside the ones already attached instead
 * of taking it over (which closes the other with 4409).
 */
export const ResumeMessage = t.strict({
  type: t.literal('resume'),
  id: MessageId,
  data: t.intersection([
    t.strict({ sessionId: t.string, resumeToken: t.string, lastSeq: SeqNumber }),
    t.exact(t.partial({ share: t.boolean })),
  ]),
});
/** Takes over an earlier session after a reconnect. */
export type ResumeMessage = t.TypeOf<typeof ResumeMessage>;

/**
 * The user's answer to a `tool_call` with status `approval_required`: approved, the tool runs;
 * denied, it does not, and the model is told so (with `reason`).
 */
export const ToolApprovalMessage = t.strict({
  type: t.literal('tool_approval'),
  id: MessageId,
  data: t.intersection([
    t.strict({ toolCallId: t.string, approved: t.boolean }),
    t.exact(
      t.partial({ reason: constrained(t.string, (s) => s.length <= MAX_APPROVAL_REASON_LENGTH, 'ApprovalReason') }),
    ),
  ]),
});
/** The user's answer to a tool call waiting for approval. */
export type ToolApprovalMessage = t.TypeOf<typeof ToolApprovalMessage>;

/**
 * What a client tool returned (`result`, any JSON value) or why it failed (`error`), answering a
 * `tool_call` with status `client_execute`. The server checks its size and feeds it to the model.
 */
export const ClientToolResultMessage = t.strict({
  type: t.literal('tool_result'),
  id: MessageId,
  data: t.intersection([
    t.strict({ toolCallId: t.string }),
    t.exact(
      t.partial({
        result: t.unknown,
        error: constrained(t.string, (s) => s.length <= MAX_CLIENT_TOOL_RESULT_ERROR_LENGTH, 'ToolError'),
      }),
    ),
  ]),
});
/** What a client tool returned or why it failed. */
export type ClientToolResultMessage = t.TypeOf<typeof ClientToolResultMessage>;

/** Characters a conversation's title may have. */
export const MAX_CONVERSATION_TITLE_LENGTH = 200;

/** Names a conversation (its session's id): 1 to 128 characters. */
const ConversationId = constrained(t.string, (s) => s.length > 0 && s.length <= 128, 'ConversationId');

/**
 * Asks for a page of the principal's conversations, the most recently updated first (answered
 * with `conversations`). `cursor` is the `nextCursor` of the page before.
 */
export const ListConversationsMessage = t.intersection([
  t.strict({ type: t.literal('list_conversations'), id: MessageId }),
  t.exact(
    t.partial({
      data: t.exact(t.partial({ limit: constrained(PositiveInt, (n) => n <= 100, 'PageSize'), cursor: t.string })),
    }),
  ),
]);
/** Asks for a page of the principal's conversations. */
export type ListConversationsMessage = t.TypeOf<typeof ListConversationsMessage>;

/**
 * Moves the connection to one of the principal's conversations, by id, without its resume token:
 * answered with a `session` message (`resumed: true`, a resume token for it) and its `history`.
 */
export const OpenConversationMessage = t.strict({
  type: t.literal('open_conversation'),
  id: MessageId,
  data: t.strict({ conversationId: ConversationId }),
});
/** Moves the connection to one of the principal's conversations. */
export type OpenConversationMessage = t.TypeOf<typeof OpenConversationMessage>;

/** How many characters (code points, as a user counts them more nearly than UTF-16 units) `s` has. */
function codePoints(s: string): number {
  let count = 0;
  for (let i = 0; i < s.length; i++, count++) {
    const unit = s.charCodeAt(i);
    // A high surrogate followed by a low one is one character.
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < s.length) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
    }
  }
  return count;
}

/** Gives one of the principal's conversations a title (answered with `conversation_updated`). */
export const RenameConversationMessage = t.strict({
  type: t.literal('rename_conversation'),
  id: MessageId,
  data: t.strict({
    conversationId: ConversationId,
    // Counted in characters (code points), not UTF-16 units; control characters refused (a NUL
    // cut a stored title short of what the answer echoed).
    title: constrained(
      t.string,
      (s) =>
        s.trim().length > 0 &&
        codePoints(s) <= MAX_CONVERSATION_TITLE_LENGTH &&
        // eslint-disable-next-line no-control-regex
        !/[\u0000-\u001f\u007f]/.test(s),
      'ConversationTitle',
    ),
  }),
});
/** Gives one of the principal's conversations a title. */
export type RenameConversationMessage = t.TypeOf<typeof RenameConversationMessage>;

/** Deletes one of the principal's conversations from every store (answered with `conversation_updated`). */
export const DeleteConversationMessage = t.strict({
  type: t.literal('delete_conversation'),
  id: MessageId,
  data: t.strict({ conversationId: ConversationId }),
});
/** Deletes one of the principal's conversations. */
export type DeleteConversationMessage = t.TypeOf<typeof DeleteConversationMessage>;

/** The client messages about the principal's conversations: the connection answers them, not a session. */
export type ConversationRequest =
  ListConversationsMessage | OpenConversationMessage | RenameConversationMessage | DeleteConversationMessage;

/** The client messages a session handles (`ping` and `resume` belong to the connection). */
export type SessionMessageIn = UserMessage | ControlMessage | ToolApprovalMessage | ClientToolResultMessage;

/** Codecs of client messages by their `type` tag. */
export const clientMessageCodecs = {
  user_message: UserMessage,
  control: ControlMessage,
  ping: PingMessage,
  resume: ResumeMessage,
  tool_approval: ToolApprovalMessage,
  tool_result: ClientToolResultMessage,
  list_conversations: ListConversationsMessage,
  open_conversation: OpenConversationMessage,
  rename_conversation: RenameConversationMessage,
  delete_conversation: DeleteConversationMessage,
} as const;

/** Any message a client may send. */
export const ClientMessage = t.union([
  UserMessage,
  ControlMessage,
  PingMessage,
  ResumeMessage,
  ToolApprovalMessage,
  ClientToolResultMessage,
  ListConversationsMessage,
  OpenConversationMessage,
  RenameConversationMessage,
  DeleteConversationMessage,
]);
/** Any message a client may send. */
export type ClientMessage = t.TypeOf<typeof ClientMessage>;
/** The `type` tags of client messages. */
export type ClientMessageType = ClientMessage['type'];
