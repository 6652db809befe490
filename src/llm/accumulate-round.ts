import type { LLMEvent, LLMFinishReason } from './types';
import type { Usage } from '../protocol/codecs';

/** A tool call as its fragments have assembled it so far. */
export interface ToolCallSnapshot {
  readonly index: number;
  readonly id: string;
  readonly name: string;
  /** The raw JSON text of the arguments, possibly incomplete while streaming. */
  readonly arguments: string;
}

/** What one model call has produced so far. */
export interface RoundSnapshot {
  readonly text: string;
  /** The model's reasoning in this call, apart from its text. */
  readonly reasoning: string;
  /** Tool calls in `index` order. */
  readonly toolCalls: readonly ToolCallSnapshot[];
  readonly finishReason: LLMFinishReason | undefined;
  readonly usage: Usage | undefined;
}

/** The snapshot before the first event. */
export const emptyRound: RoundSnapshot = {
  text: '',
  reasoning: '',
  toolCalls: [],
  finishReason: undefined,
  usage: undefined,
};

function mergeToolCallDelta(
  calls: readonly ToolCallSnapshot[],
  delta: Extract<LLMEvent, { type: 'tool_call_delta' }>,
): readonly ToolCallSnapshot[] {
  const position = calls.findIndex((call) => call.index === delta.index);
  const current = position >= 0 ? calls[position] : undefined;
  // Ids and names come whole in the first fragment; arguments come in pieces to append.
  const next: ToolCallSnapshot = {
    index: delta.index,
    id: delta.id || current?.id || '',
    name: delta.name || current?.name || '',
    arguments: (current?.arguments ?? '') + (delta.argumentsDelta ?? ''),
  };
  if (current === undefined) return [...calls, next].sort((a, b) => a.index - b.index);
  return calls.map((call, i) => (i === position ? next : call));
}

/**
 * What one model call has produced, as a pure reducer: `(snapshot, event) => snapshot`. Tool-call
 * fragments are merged by `index`, the way the OpenAI API numbers them.
 */
export function accumulateRound(snapshot: RoundSnapshot, event: LLMEvent): RoundSnapshot {
  switch (event.type) {
    case 'text':
      return { ...snapshot, text: snapshot.text + event.delta };
    case 'reasoning':
      return { ...snapshot, reasoning: snapshot.reasoning + event.delta };
    case 'tool_call_delta':
      return { ...snapshot, toolCalls: mergeToolCallDelta(snapshot.toolCalls, event) };
    case 'finish':
      return { ...snapshot, finishReason: event.reason };
    case 'usage':
      return { ...snapshot, usage: event.usage };
    case 'response':
      return snapshot;
  }
}
