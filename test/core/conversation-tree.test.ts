import { createConversation } from '../../src/core/conversation';
import { ACTIVE_MARKER_ID, trimTree, treeOf } from '../../src/core/conversation-tree';
import type { LLMEvent } from '../../src/llm/types';
import type { HistoryMessage } from '../../src/protocol/codecs';
import { e, harness, newScheduler, userMessage } from '../utils/session-harness';

const user = (content: string): HistoryMessage => ({ role: 'user', content });
const assistant = (content: string): HistoryMessage => ({ role: 'assistant', content });

/** The active path as `role:content` and, for a message with siblings, `(n/N)`. */
function shown(messages: readonly HistoryMessage[]): string[] {
  return messages.map((m) => {
    const branch = m.siblingIds ? ` (${m.siblingIds.indexOf(m.id as string) + 1}/${m.siblingIds.length})` : '';
    return `${m.role}:${m.content}${branch}`;
  });
}

/** A conversation whose every change is kept as a store keeps it, and a way to load it again. */
function stored(max = 20) {
  let kept: readonly HistoryMessage[] = [];
  const conversation = createConversation({ systemPrompt: '', maxHistoryLength: max }, { onChange: (m) => (kept = m) });
  return {
    conversation,
    kept: () => kept,
    reload: () => createConversation({ systemPrompt: '', maxHistoryLength: max }, { history: kept }),
  };
}

describe('conversation tree', () => {
  it('gives each message an id and its parent; ids stay as the conversation grows, is trimmed, and is loaded again', () => {
    const { conversation, reload } = stored(3);
    const [q1, a1] = conversation.append(user('q1'), assistant('a1'));
    expect(q1?.id).toEqual(expect.any(String));
    expect(q1?.parentId).toBeUndefined();
    expect(a1?.parentId).toBe(q1?.id);
    conversation.append(user('q2'));
    expect(conversation.messages().map((m) => m.id)).toEqual([q1?.id, a1?.id, expect.any(String)]);
    conversation.append(assistant('a2'));
    // Trimmed to 3: the first goes, the second is a root now, ids unchanged.
    const ids = conversation.messages().map((m) => m.id);
    expect(ids[0]).toBe(a1?.id);
    expect(conversation.messages()[0]?.parentId).toBeUndefined();
    expect(
      reload()
        .messages()
        .map((m) => m.id),
    ).toEqual(ids);
  });

  it('edit: a new user message beside the edited one; the old branch stays and can be switched back to; the model sees the active path', () => {
    const { conversation, reload } = stored();
    const [q1] = conversation.append(user('q1'), assistant('a1'));
    const [q2] = conversation.append(user('q2'), assistant('a2'));
    expect(conversation.forkAt(q2?.id as string)).toBe(true);
    const [q2b] = conversation.append(user('q2 edited'));
    conversation.append(assistant('a2 edited'));
    expect(q2b?.parentId).toBe(q2?.parentId);
    expect(shown(conversation.messagesWithBranches())).toEqual([
      'user:q1',
      'assistant:a1',
      'user:q2 edited (2/2)',
      'assistant:a2 edited',
    ]);
    expect(conversation.forModel().map((m) => m.content)).toEqual(['q1', 'a1', 'q2 edited', 'a2 edited']);
    expect(conversation.forModel().some((m) => 'id' in m || 'parentId' in m)).toBe(false);
    // Back to the first branch (down to its newest leaf), and it is what a reload shows.
    expect(conversation.switchTo(q2?.id as string)).toBe(true);
    expect(shown(conversation.messagesWithBranches())).toEqual([
      'user:q1',
      'assistant:a1',
      'user:q2 (1/2)',
      'assistant:a2',
    ]);
    expect(shown(reload().messagesWithBranches())).toEqual([
      'user:q1',
      'assistant:a1',
      'user:q2 (1/2)',
      'assistant:a2',
    ]);
    // Only a user message of the active path can be edited; an unknown id cannot be switched to.
    expect(conversation.forkAt(q2b?.id as string)).toBe(false);
    expect(conversation.forkAt('nope')).toBe(false);
    expect(conversation.switchTo('nope')).toBe(false);
    expect(conversation.forkAt(q1?.id as string)).toBe(true);
    conversation.append(user('q1 edited'));
    expect(shown(conversation.messagesWithBranches())).toEqual(['user:q1 edited (2/2)']);
  });

  it('regenerate: a new answer beside the one before, to the same user message', () => {
    const { conversation } = stored();
    const [q1] = conversation.append(user('q1'), assistant('a1'));
    expect(conversation.answerAgain()?.id).toBe(q1?.id);
    conversation.append(assistant('a1 again'));
    expect(conversation.answerAgain()?.id).toBe(q1?.id);
    conversation.append(assistant('a1 third'));
    expect(shown(conversation.messagesWithBranches())).toEqual(['user:q1', 'assistant:a1 third (3/3)']);
    expect(createConversation().answerAgain()).toBeUndefined();
  });

  it('rewind keeps the turn as a branch: the next message starts another beside it', () => {
    const { conversation, reload } = stored();
    conversation.append(user('q1'), assistant('a1'));
    conversation.rewind();
    expect(conversation.messages()).toEqual([]);
    expect(reload().messages()).toEqual([]);
    conversation.append(user('q1 again'));
    expect(shown(conversation.messagesWithBranches())).toEqual(['user:q1 again (2/2)']);
  });

  it('stores the tree as one array: every message, then the marker of the active leaf', () => {
    const { conversation, kept } = stored();
    const [q1, a1] = conversation.append(user('q1'), assistant('a1'));
    conversation.answerAgain();
    const [a1b] = conversation.append(assistant('a1b'));
    conversation.switchTo(a1?.id as string);
    expect(kept()).toEqual([q1, a1, a1b, { role: 'system', content: '', id: ACTIVE_MARKER_ID, parentId: a1?.id }]);
  });

  it('loads a history from before ids as one path, with ids h<index>', () => {
    const conversation = createConversation({}, { history: [user('old'), assistant('answer')] });
    expect(conversation.messages()).toEqual([
      { role: 'user', content: 'old', id: 'h0' },
      { role: 'assistant', content: 'answer', id: 'h1', parentId: 'h0' },
    ]);
  });

  it('bounds the branches off the active path, dropping the oldest first', () => {
    const branches = Array.from({ length: 10 }, (_, i): HistoryMessage => ({
      role: 'assistant',
      content: `old ${i}`,
      id: `b${i}`,
      parentId: 'q',
    }));
    const tree = treeOf([
      { role: 'user', content: 'q', id: 'q' },
      ...branches,
      { role: 'assistant', content: 'kept', id: 'a', parentId: 'q' },
    ]);
    const trimmed = trimTree({ all: tree.all, leaf: 'a' }, 2);
    expect(trimmed.all.map((m) => m.id)).toEqual(['q', 'b4', 'b5', 'b6', 'b7', 'b8', 'b9', 'a']);
  });
});

describe('branches in a session', () => {
  it('refuses with invalid_message a regenerate with nothing to answer, an edit of no user message of the active branch, and a switch to an unknown message', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold }) => {
      const { connect, requests } = harness(scheduler, [cold<LLMEvent>('-a-(s|)', e)]);
      const { transport, at } = connect();
      at(0, { type: 'user_message', id: 'r1', data: { text: '', regenerate: true } });
      at(1, { type: 'user_message', id: 'e1', data: { text: 'x', editOf: 'nope' } });
      at(2, { type: 'control', id: 's1', data: { type: 'switch_branch', messageId: 'nope' } });
      at(3, { type: 'control', id: 's2', data: { type: 'switch_branch' } });
      at(4, userMessage('q1'));
      scheduler.flush();
      const errors = transport.log().filter((line) => line.includes('error'));
      expect(errors.map((line) => line.replace(/ #\d+$/, ''))).toEqual([
        '0 error invalid_message r1',
        '1 error invalid_message e1',
        '2 error invalid_message s1',
        '3 error invalid_message s2',
      ]);
      expect(requests).toHaveLength(1);
    });
  });
});
