import type { HistoryMessage } from '../protocol/codecs';

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

/** One conversation: the system prompt and a bounded history. */
export interface Conversation {
  readonly systemPrompt: string;
  /** The history, without the system prompt. */
  messages(): readonly HistoryMessage[];
  /** What the model is sent: the system prompt (if any), then the history. */
  forModel(): HistoryMessage[];
  /** Appends messages together, then trims (so a call and its results are never split by a trim between them). */
  append(...messages: HistoryMessage[]): void;
  clear(): void;
}

/** Where a conversation starts from, and who hears of its changes (a session store). */
export interface ConversationState {
  /** The history so far (a conversation loaded from a store). @default [] */
  readonly history?: readonly HistoryMessage[];
  /** Told the whole history after every change. */
  readonly onChange?: (messages: readonly HistoryMessage[]) => void;
}

/** A conversation as a class, so an idle one costs its fields and no closures. */
class ConversationImpl implements Conversation {
  private history: HistoryMessage[];

  constructor(
    readonly systemPrompt: string,
    private readonly max: number,
    state: ConversationState,
  ) {
    this.history = trimHistory(state.history ?? [], max);
    this.onChange = state.onChange;
  }

  private readonly onChange: ((messages: readonly HistoryMessage[]) => void) | undefined;

  messages(): readonly HistoryMessage[] {
    return this.history;
  }

  forModel(): HistoryMessage[] {
    return this.systemPrompt ? [{ role: 'system', content: this.systemPrompt }, ...this.history] : [...this.history];
  }

  append(...messages: HistoryMessage[]): void {
    this.history = trimHistory([...this.history, ...messages], this.max);
    this.onChange?.(this.history);
  }

  clear(): void {
    this.history = [];
    this.onChange?.(this.history);
  }
}

/** Creates a conversation: empty, or from `state.history`. */
export function createConversation(options: ConversationOptions = {}, state: ConversationState = {}): Conversation {
  const max = options.maxHistoryLength ?? DEFAULT_MAX_HISTORY_LENGTH;
  if (!Number.isInteger(max) || max < 1)
    throw new RangeError(`maxHistoryLength must be a whole number of 1 or more, got ${max}`);
  return new ConversationImpl(options.systemPrompt ?? DEFAULT_SYSTEM_PROMPT, max, state);
}
