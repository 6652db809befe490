import { estimateTokens, estimateUsage, ESTIMATED_CHARS_PER_TOKEN } from '../../src/llm/estimate-usage';
import type { LLMRequest } from '../../src/llm/types';

describe('estimateUsage', () => {
  it.each([
    [0, 0],
    [1, 1],
    [4, 1],
    [5, 2],
    [400, 100],
  ])('counts %i characters as %i tokens', (characters, tokens) => {
    expect(ESTIMATED_CHARS_PER_TOKEN).toBe(4);
    expect(estimateTokens(characters)).toBe(tokens);
  });

  it('counts the messages, their tool calls and the tool definitions in, and text, reasoning and calls out', () => {
    const request: LLMRequest = {
      messages: [
        { role: 'system', content: 'x'.repeat(40) },
        { role: 'assistant', content: '', toolCalls: [{ id: 'c', name: 'abcd', arguments: 'y'.repeat(36) }] },
      ],
      tools: [{ name: 'abcd', description: 'd'.repeat(10), parameters: { type: 'object' } }],
      options: {},
    };
    // 40 + (4 + 36) + (4 + 10 + 17) = 111 characters in; 9 + 8 + 3 + 4 = 24 out.
    expect(
      estimateUsage(request, {
        text: 't'.repeat(9),
        reasoning: 'r'.repeat(8),
        toolCalls: [{ name: 'abc', arguments: '{"}' }],
      }),
    ).toEqual({ promptTokens: 28, completionTokens: 6, totalTokens: 34, reasoningTokens: 2, estimated: true });
  });

  it('reports no reasoning tokens when there was no reasoning', () => {
    expect(
      estimateUsage({ messages: [], tools: [], options: {} }, { text: 'abcd', reasoning: '', toolCalls: [] }),
    ).toEqual({
      promptTokens: 0,
      completionTokens: 1,
      totalTokens: 1,
      estimated: true,
    });
  });
});
