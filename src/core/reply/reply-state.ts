import type { FinishReason, HistoryMessage, ServerMessageInput, Usage } from '../../protocol/codecs';

/** `total` and `more` summed, field by field (reasoning and cached where either has them; estimated if either is). */
export function addUsage(total: Usage | undefined, more: Usage | undefined): Usage | undefined {
  if (!more) return total;
  if (!total) return more;
  return {
    promptTokens: total.promptTokens + more.promptTokens,
    completionTokens: total.completionTokens + more.completionTokens,
    totalTokens: total.totalTokens + more.totalTokens,
    ...(total.reasoningTokens === undefined && more.reasoningTokens === undefined
      ? {}
      : { reasoningTokens: (total.reasoningTokens ?? 0) + (more.reasoningTokens ?? 0) }),
    ...(total.cachedTokens === undefined && more.cachedTokens === undefined
      ? {}
      : { cachedTokens: (total.cachedTokens ?? 0) + (more.cachedTokens ?? 0) }),
    ...(total.estimated || more.estimated ? { estimated: true } : {}),
  };
}

/**
 * What one reply accumulates over its model calls, in one place: its text, the current call's
 * text and event count (what an abort keeps and estimates from) and the usage. It also makes the reply's chunk and ending frames.
 */
export class ReplyState {
  /** The reply's text over all its model calls. */
  fullText = '';
  /** The text of the current model call: an aborted call enters history as this. */
  roundText = '';
  /** The reasoning of the current model call, kept in history with it when the server is set to. */
  roundReasoning = '';
  /** Events of the current model call: on an abort, its usage is estimated from them. */
  roundDeltas = 0;
  usage: Usage | undefined;
  /** The tool-call ids this reply has used so far, over all its model calls. */
  private readonly toolCallIds = new Set<string>();

  /** The reply's answer as history keeps it, once it entered history: its id goes with `llm_complete`. */
  answer: HistoryMessage | undefined;

  constructor(
    readonly requestId: string,
    /** The id of the user message the reply answers, when history gave it one. */
    readonly userMessageId?: string,
  ) {}

  /** A model call starts. */
  newRound(): void {
    this.roundText = '';
    this.roundReasoning = '';
    this.roundDeltas = 0;
  }

  /** A piece of reasoning streamed: its frame (not part of the reply's text). */
  reasoning(delta: string): ServerMessageInput {
    this.roundDeltas++;
    this.roundReasoning += delta;
    return { type: 'llm_reasoning', data: { chunk: delta, requestId: this.requestId } };
  }

  /** A piece of text streamed; true if it is the reply's first. */
  text(delta: string): boolean {
    const first = this.fullText === '';
    this.roundDeltas++;
    this.fullText += delta;
    this.roundText += delta;
    return first;
  }

  /**
   * The id a tool call of this reply goes by: the model's, unless an earlier call of the reply
   * already has it (a model or proxy may repeat ids, or send none), then the first free one of
   * `<id>_2`, `<id>_3`, ... (`fallback` for no id). Approvals and results name calls by id, so two
   * calls sharing one could run the one the user did not approve.
   */
  uniqueToolCallId(id: string, fallback: string): string {
    const base = id || fallback;
    let unique = base;
    for (let n = 2; this.toolCallIds.has(unique); n++) unique = `${base}_${n}`;
    this.toolCallIds.add(unique);
    return unique;
  }

  /** A fragment of a tool call streamed. */
  toolCallDelta(): void {
    this.roundDeltas++;
  }

  /** The model call is over, with the usage it reported: an abort from here on estimates nothing for it. */
  roundEnded(usage: Usage | undefined): void {
    this.usage = addUsage(this.usage, usage);
    this.roundDeltas = 0;
  }

  /** The model never reported the cut-off call's usage: its streamed pieces count as about a token each. */
  estimateAbortedRound(): void {
    if (this.roundDeltas === 0) return;
    this.usage = addUsage(this.usage, {
      promptTokens: 0,
      completionTokens: this.roundDeltas,
      totalTokens: this.roundDeltas,
      estimated: true,
    });
  }

  /** An `llm_chunk` of this reply. */
  chunk(text: string, isComplete: boolean): ServerMessageInput {
    return { type: 'llm_chunk', data: { chunk: text, isComplete, requestId: this.requestId } };
  }

  /** A `status` of this reply. */
  status(status: 'thinking' | 'streaming' | 'calling_tool'): ServerMessageInput {
    return { type: 'status', data: { status, requestId: this.requestId } };
  }

  /** The reply's last frames: an empty complete chunk, then `llm_complete`. */
  ending(finishReason: FinishReason): ServerMessageInput[] {
    const { fullText, requestId, usage } = this;
    const messageId = this.answer?.id;
    return [
      this.chunk('', true),
      {
        type: 'llm_complete',
        data: {
          fullText,
          requestId,
          finishReason,
          ...(usage ? { usage } : {}),
          ...(messageId === undefined ? {} : { messageId }),
          ...(this.userMessageId === undefined ? {} : { userMessageId: this.userMessageId }),
        },
      },
    ];
  }
}
