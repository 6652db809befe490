/** `/list`'s line per conversation: the usage total once a reply reported one. */
import { renderConversation } from '../../src/cli/chat-commands';

const summary = { id: 'c1', title: 'Cats', createdAt: 0, updatedAt: Date.UTC(2026, 11, 7, 6, 30), messageCount: 4 };

describe('renderConversation', () => {
  it('shows id, title, last update and messages, and no tokens before any usage', () => {
    expect(renderConversation(summary, undefined)).toBe('  c1  Cats  2026-12-07 06:30  4 messages');
  });

  it('shows the usage total, marked when estimated, and the current conversation', () => {
    const usage = { promptTokens: 40, completionTokens: 27, totalTokens: 67 };
    expect(renderConversation({ ...summary, usage }, 'c1')).toBe('* c1  Cats  2026-12-07 06:30  4 messages  67 tokens');
    expect(renderConversation({ ...summary, usage: { ...usage, estimated: true } }, undefined)).toMatch(
      /4 messages {2}~67 tokens$/,
    );
  });
});
