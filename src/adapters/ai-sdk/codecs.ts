/**
 * The AI SDK's WebSocket chat protocol (`ai` 7, `src/ui/websocket-chat-transport.ts`) as io-ts
 * codecs: the client frames mirror `safeValidateWebSocketChatTransportRequest`, and of the UI
 * messages only what the server reads is checked (`ai` validates the rest on the client). The
 * server frames and chunks are built here from types of the same names; the tests check them
 * against `ai`'s own `uiMessageChunkSchema` through the real transport.
 */
import * as t from 'io-ts';
import { constrained, MessageId, SeqNumber } from '../../protocol/fields';

/** Longest AI SDK `requestId` taken: llm-ws derives its own message ids from it (with a suffix). */
export const MAX_AI_SDK_REQUEST_ID_LENGTH = 100;

/** A request id of the transport (`generateId()` makes 16 characters). */
const RequestId = constrained(t.string, (s) => s.length > 0 && s.length <= MAX_AI_SDK_REQUEST_ID_LENGTH, 'RequestId');

/** A `{ [name]: string }` record, as `headers` must be. */
const StringRecord = t.record(t.string, t.string);

/** A part of a UI message, as far as the server reads it: its `type`, and what an answer carries. */
export const UIMessagePart = t.intersection([
  t.type({ type: t.string }),
  t.partial({
    text: t.string,
    toolCallId: t.string,
    state: t.string,
    output: t.unknown,
    errorText: t.string,
    approval: t.intersection([t.type({ id: t.string }), t.partial({ approved: t.boolean, reason: t.string })]),
  }),
]);
/** A part of a UI message. */
export type UIMessagePart = t.TypeOf<typeof UIMessagePart>;

/** A UI message (`UIMessage` of `ai`): its id, role and parts. */
export const UIMessage = t.type({
  id: t.string,
  role: t.keyof({ system: null, user: null, assistant: null }),
  parts: t.array(UIMessagePart),
});
/** A UI message. */
export type UIMessage = t.TypeOf<typeof UIMessage>;

/** `send`: a new user message (`submit-message`, also after approvals) or `regenerate-message`. */
export const SendRequest = t.intersection([
  t.type({
    type: t.literal('send'),
    requestId: RequestId,
    id: MessageId,
    trigger: t.keyof({ 'submit-message': null, 'regenerate-message': null }),
    messages: t.array(UIMessage),
    headers: StringRecord,
    body: t.UnknownRecord,
  }),
  t.partial({ messageId: t.string, metadata: t.unknown }),
]);
/** `send`. */
export type SendRequest = t.TypeOf<typeof SendRequest>;

/** `resume`: the running reply of chat `id`, its chunks after `lastSequence` (all when absent). */
export const ResumeRequest = t.intersection([
  t.type({
    type: t.literal('resume'),
    requestId: RequestId,
    id: MessageId,
    headers: StringRecord,
    body: t.UnknownRecord,
  }),
  t.partial({ lastSequence: SeqNumber, metadata: t.unknown }),
]);
/** `resume`. */
export type ResumeRequest = t.TypeOf<typeof ResumeRequest>;

/** `abort`: stop request `requestId` (and the model request behind it). */
export const AbortRequest = t.type({ type: t.literal('abort'), requestId: RequestId });
/** `abort`. */
export type AbortRequest = t.TypeOf<typeof AbortRequest>;

/** Any frame the AI SDK's `WebSocketChatTransport` sends. */
export const ChatRequest = t.union([SendRequest, ResumeRequest, AbortRequest]);
/** Any frame the transport sends. */
export type ChatRequest = t.TypeOf<typeof ChatRequest>;

/** Why a step or message finished, as `ai` 7 names it. */
export type UIFinishReason = 'stop' | 'length' | 'content-filter' | 'tool-calls' | 'error' | 'interrupted' | 'other';

/** The `UIMessageChunk`s llm-ws sends (a subset of `ai` 7's). */
export type UIMessageChunk =
  | { type: 'start'; messageId: string }
  | { type: 'start-step' }
  | { type: 'finish-step' }
  | { type: 'finish'; finishReason: UIFinishReason }
  | { type: 'text-start'; id: string }
  | { type: 'text-delta'; id: string; delta: string }
  | { type: 'text-end'; id: string }
  | { type: 'reasoning-start'; id: string }
  | { type: 'reasoning-delta'; id: string; delta: string }
  | { type: 'reasoning-end'; id: string }
  | { type: 'tool-input-available'; toolCallId: string; toolName: string; input: unknown; dynamic: true }
  | { type: 'tool-approval-request'; approvalId: string; toolCallId: string }
  | { type: 'tool-approval-response'; approvalId: string; approved: boolean; reason?: string }
  | { type: 'tool-output-available'; toolCallId: string; output: unknown; dynamic: true }
  | { type: 'tool-output-error'; toolCallId: string; errorText: string; dynamic: true }
  | { type: 'tool-output-denied'; toolCallId: string };

/** A frame the server sends the transport. */
export type ChatResponse =
  | { type: 'start'; requestId: string }
  | { type: 'chunk'; requestId: string; sequence: number; chunk: UIMessageChunk }
  | { type: 'end'; requestId: string }
  | { type: 'error'; requestId: string; errorText: string }
  | { type: 'no-active'; requestId: string };
