import type { HistoryMessage } from '../protocol/codecs';
import {
  activePath,
  newestLeafUnder,
  pathWithBranches,
  storedOf,
  type Tree,
  treeOf,
  trimTree,
} from './conversation-tree';
import { createIdGenerator } from './ids';

/** History kept per conversation unless configured, in messages (the system prompt not counted). */
export const DEFAULT_MAX_HISTORY_LENGTH = 20;
/** The system prompt unless configured. */
export const DEFAULT_SYSTEM_PROMPT = 'You are a helpful assistant.';

/** How each conversation is set up. */
export interface ConversationOptions {
  /** Sent to the model first in every call; `''` for none. @default DEFAULT_SYSTEM_PROMPT */
  readonly systemPrompt?: string;
  /** Messages kept, oldest dropped first. @default DEFAULT_MAX_HISTORY_LENGTH */
  readonly maxHistoryLength?: number;
}

/**
 * Keeps the newest `max` messages, then drops any `tool` messages left at the front: their
 * assistant `toolCalls` message was trimmed, and the OpenAI API rejects a tool result that
 * answers no call. Tool results always follow their call, so nothing else can be orphaned.
 */
export function trimHistory(messages: readonly HistoryMessage[], max: number): HistoryMessage[] {
  let start = Math.max(0, messages.length - max);
  while (start < messages.length && messages[start]?.role === 'tool') start++;
  return messages.slice(start);
}

/** One conversation: the system prompt and a bounded history, kept as a tree of branches. */
export interface Conversation {
  readonly systemPrompt: string;
  /** The active path of the history, without the system prompt. */
  messages(): readonly HistoryMessage[];
  /** The active path as a history answer shows it: messages with siblings carry `siblingIds`. */
  messagesWithBranches(): HistoryMessage[];
  /** What the model is sent: the system prompt (if any), then the active path (without ids). */
  forModel(): HistoryMessage[];
  /**
   * Appends messages to the active path together, then trims (so a call and its results are never
   * split by a trim between them). Each gets an `id` and its `parentId`; they are returned so.
   */
  append(...messages: HistoryMessage[]): HistoryMessage[];
  clear(): void;
  /**
   * Makes the next `append` a new branch beside user message `messageId` of the active path (an
   * edit). False, changing nothing, when no user message of the active path has that id.
   */
  forkAt(messageId: string): boolean;
  /**
   * Makes the next `append` a new answer beside the answer to the last user message of the active
   * path (a regenerate); returns that user message, or undefined (nothing changed) when there is none.
   */
  answerAgain(): HistoryMessage | undefined;
  /** Makes the branch of message `messageId` active (down to its newest leaf). False, changing nothing, for an unknown id. */
  switchTo(messageId: string): boolean;
  /**
   * Steps the active path back to before its last user message (nothing when it has none): the
   * turn stays as a branch, and the next message starts another beside it.
   */
  rewind(): void;
}

/** Where a conversation starts from, and who hears of its changes (a session store). */
export interface ConversationState {
  /** The history so far, as {@link ConversationState.onChange} gave it (a conversation loaded from a store). @default [] */
  readonly history?: readonly HistoryMessage[];
  /** Told the whole tree after every change, as one array (see `conversation-tree.ts`). */
  readonly onChange?: (messages: readonly HistoryMessage[]) => void;
}

/** A conversation as a class, so an idle one costs its fields and no closures. */
class ConversationImpl implements Conversation {
  private tree: Tree;
  /** The active path, computed once per change. */
  private path: readonly HistoryMessage[];
  private nextId: (() => string) | undefined;

  constructor(
    readonly systemPrompt: string,
    private readonly max: number,
    state: ConversationState,
  ) {
    this.tree = trimTree(treeOf(state.history ?? []), max);
    this.path = activePath(this.tree);
    this.onChange = state.onChange;
  }

  private readonly onChange: ((messages: readonly HistoryMessage[]) => void) | undefined;

  messages(): readonly HistoryMessage[] {
    return this.path;
  }

  messagesWithBranches(): HistoryMessage[] {
    return pathWithBranches(this.tree);
  }

  forModel(): HistoryMessage[] {
    const path = this.path.map(({ id: _id, parentId: _parentId, ...message }) => message);
    return this.systemPrompt ? [{ role: 'system', content: this.systemPrompt }, ...path] : path;
  }

  append(...messages: HistoryMessage[]): HistoryMessage[] {
    const nextId = (this.nextId ??= createIdGenerator());
    let parentId = this.tree.leaf;
    const added = messages.map((message) => {
      const withId: HistoryMessage = { ...message, id: nextId(), ...(parentId === undefined ? {} : { parentId }) };
      parentId = withId.id;
      return withId;
    });
    this.changed(trimTree({ all: [...this.tree.all, ...added], leaf: parentId }, this.max));
    return added;
  }

  clear(): void {
    this.changed({ all: [], leaf: undefined });
  }

  forkAt(messageId: string): boolean {
    const message = this.path.find((m) => m.id === messageId && m.role === 'user');
    if (!message) return false;
    // The path steps back to before the message: what is appended next is its sibling.
    this.changed({ all: this.tree.all, leaf: message.parentId });
    return true;
  }

  answerAgain(): HistoryMessage | undefined {
    const user = [...this.path].reverse().find((m) => m.role === 'user');
    // The path ends at the question: the model sees it unanswered, and the new answer is a sibling.
    if (user) this.changed({ all: this.tree.all, leaf: user.id });
    return user;
  }

  switchTo(messageId: string): boolean {
    if (!this.tree.all.some((m) => m.id === messageId)) return false;
    this.changed({ all: this.tree.all, leaf: newestLeafUnder(this.tree, messageId) });
    return true;
  }

  rewind(): void {
    const user = [...this.path].reverse().find((m) => m.role === 'user');
    if (!user) return;
    this.changed({ all: this.tree.all, leaf: user.parentId });
  }

  private changed(tree: Tree): void {
    this.tree = tree;
    this.path = activePath(tree);
    this.onChange?.(storedOf(tree));
  }
}

/** Creates a conversation: empty, or from `state.history`. */
export function createConversation(options: ConversationOptions = {}, state: ConversationState = {}): Conversation {
  const max = options.maxHistoryLength ?? DEFAULT_MAX_HISTORY_LENGTH;
  if (!Number.isInteger(max) || max < 1)
    throw new RangeError(`maxHistoryLength must be a whole number of 1 or more, got ${max}`);
  return new ConversationImpl(options.systemPrompt ?? DEFAULT_SYSTEM_PROMPT, max, state);
}

/** The UTF-8 bytes of a history's text: contents, and tool calls' names and arguments. */
export function historyBytes(messages: readonly HistoryMessage[]): number {
  let bytes = 0;
  for (const message of messages) {
    bytes +=
      Buffer.byteLength(message.content) + (message.reasoning === undefined ? 0 : Buffer.byteLength(message.reasoning));
    for (const call of message.toolCalls ?? [])
      bytes += Buffer.byteLength(call.arguments) + call.name.length + call.id.length;
  }
  return bytes;
}
