import type { Usage } from '../protocol/codecs';
import type { LLMRequest } from './types';

/**
 * Characters counted as one token when the model reports no usage: about right for English with
 * OpenAI's tokenizers, and for budgets an estimate that errs neither way by much on prose.
 */
export const ESTIMATED_CHARS_PER_TOKEN = 4;

/** Tokens `characters` characters are estimated to be (at least 1 for any text). */
export const estimateTokens = (characters: number): number => Math.ceil(characters / ESTIMATED_CHARS_PER_TOKEN);

/** Characters of the request as the model reads them: the messages, their tool calls and the tool definitions. */
function requestCharacters(request: LLMRequest): number {
  let characters = 0;
  for (const message of request.messages) {
    characters += message.content.length;
    for (const call of message.toolCalls ?? []) characters += call.name.length + call.arguments.length;
  }
  for (const tool of request.tools)
    characters += tool.name.length + tool.description.length + JSON.stringify(tool.parameters).length;
  return characters;
}

/** What a model call produced, as far as its usage is concerned. */
export interface EstimatedOutput {
  readonly text: string;
  readonly reasoning: string;
  readonly toolCalls: readonly { readonly name: string; readonly arguments: string }[];
}

/**
 * The usage of a model call the model reported none for (an endpoint that sends no usage chunk,
 * or a call cut short), from its request and what it streamed, at
 * {@link ESTIMATED_CHARS_PER_TOKEN} characters a token; marked `estimated`.
 */
export function estimateUsage(request: LLMRequest, output: EstimatedOutput): Usage {
  const promptTokens = estimateTokens(requestCharacters(request));
  let outputCharacters = output.text.length + output.reasoning.length;
  for (const call of output.toolCalls) outputCharacters += call.name.length + call.arguments.length;
  const completionTokens = estimateTokens(outputCharacters);
  const reasoningTokens = estimateTokens(output.reasoning.length);
  return {
    promptTokens,
    completionTokens,
    totalTokens: promptTokens + completionTokens,
    ...(reasoningTokens > 0 ? { reasoningTokens } : {}),
    estimated: true,
  };
}
