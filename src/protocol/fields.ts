/**
 * The field types the protocol's messages share (ids, numbers with bounds, usage, history), as
 * io-ts codecs with their types of the same name. `codecs.ts` re-exports them.
 */
import * as t from 'io-ts';
import { MAX_MESSAGE_ID_LENGTH } from './limits';

/**
 * A codec for the values of `base` that satisfy `predicate`. Unlike `t.brand`, the type stays
 * plain (`string`, `number`), so users build messages from literals without casts.
 */
export function constrained<A>(base: t.Type<A, A>, predicate: (value: A) => boolean, name: string): t.Type<A, A> {
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

/**
 * Why a reply ended. `aborted`: the client asked to stop it. `interrupted`: the server process
 * running it stopped or died first; what had reached the store is kept.
 */
export const FinishReason = t.keyof({
  stop: null,
  length: null,
  content_filter: null,
  aborted: null,
  interrupted: null,
});
/** Why a reply ended. */
export type FinishReason = t.TypeOf<typeof FinishReason>;

/** Token counts reported by the model, summed over every model call of one reply. */
export const Usage = t.intersection([
  t.strict({
    promptTokens: t.number,
    completionTokens: t.number,
    totalTokens: t.number,
  }),
  t.exact(
    t.partial({
      /**
       * True when some of the counts are the server's estimate: a model call the model never
       * reported usage for (an abort, or an endpoint that sends none) counts about 4 characters
       * per token.
       */
      estimated: t.boolean,
      /** Of `completionTokens`, those the model spent reasoning, when the endpoint reports them. */
      reasoningTokens: t.number,
      /** Of `promptTokens`, those the endpoint served from its prompt cache, when it reports them. */
      cachedTokens: t.number,
    }),
  ),
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
 * A file or picture of a user's message, as history keeps it: by reference (`ref`, the server's
 * content hash: fetch its bytes from `GET /attachments/<ref>`), or a remote `url` the model
 * fetches itself; never the bytes, so history answers and replayed frames stay small.
 */
export const HistoryAttachment = t.intersection([
  t.strict({ mediaType: t.string }),
  t.exact(t.partial({ name: t.string, bytes: t.number, ref: t.string, url: t.string })),
]);
/** A file or picture of a user's message, as history keeps it. */
export type HistoryAttachment = t.TypeOf<typeof HistoryAttachment>;

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
      /** The model's reasoning before this answer; kept only when the server is set to (`keepReasoning`). */
      reasoning: t.string,
      /** On a user message: the files and pictures sent with it, by reference. */
      attachments: t.array(HistoryAttachment),
      /** The message's id in its conversation, stable for its life (the server gives it). */
      id: t.string,
      /** The message this one follows (absent at the start of the conversation): history is a tree of branches. */
      parentId: t.string,
      /**
       * In a history answer, on a message with siblings (an edit or a regenerate made a branch
       * beside it): the ids of all of them, its own included, oldest first. Its position among
       * them and their count are what a "< 2/3 >" switcher shows; `switch_branch` moves to another.
       */
      siblingIds: t.array(t.string),
    }),
  ),
]);
/** One message of a conversation. */
export type HistoryMessage = t.TypeOf<typeof HistoryMessage>;
