import type { LLMEvent } from '../../src/llm/types';
import { control, e, greetingOf, harness, newScheduler, userMessage } from '../utils/session-harness';

/**
 * Several connections on one session (`resume` with `share`), in virtual time over fake
 * transports: the stream goes to each, a reader too slow is closed alone (4408) while the others
 * go on, and the session stays attached until its last connection leaves.
 */
describe('a shared session (marbles)', () => {
  it('closes a reader too slow alone; the other gets the whole reply; the session is left only when the last goes', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold }) => {
      const { connect, registry } = harness(scheduler, [cold<LLMEvent>('-a-b-c-(s|)', e)]);
      const first = connect();
      const second = connect();
      scheduler.schedule(() => {
        const { sessionId, resumeToken } = greetingOf(first.transport).data;
        second.connection.receive(
          JSON.stringify({ type: 'resume', id: 'r1', data: { sessionId, resumeToken, lastSeq: 0, share: true } }),
          false,
        );
      }, 0);
      first.at(1, userMessage('q1'));
      // The second stops reading: its send buffer passes the hard limit.
      scheduler.schedule(() => (second.transport.buffered = 6000), 3);
      // Its socket's close event follows the close (the next frame, at 4, found it over the limit).
      scheduler.schedule(() => second.transport.closedWith && second.connection.closed(1006, ''), 5);
      scheduler.flush();
      expect(first.transport.closedWith).toBeUndefined();
      expect(second.transport.closedWith).toEqual({
        code: 4408,
        reason: 'client too slow: send buffer over its hard limit',
      });
      const chunks = first.transport.frames.flatMap(({ message }) =>
        message.type === 'llm_chunk' ? [message.data.chunk] : [],
      );
      expect(chunks.join('')).toBe('one two three');
      const seqs = first.transport.frames.flatMap(({ message }) => (message.seq === undefined ? [] : [message.seq]));
      expect(seqs).toEqual(seqs.map((_, i) => i + 1));
      expect(first.connection.session.attached).toBe(true);
      first.connection.closed(1000, '');
      expect(first.connection.session.attached).toBe(false);
      expect(registry.get(first.connection.session.id)).toBeDefined();
    });
  });

  it("answers one tab's get_history and get_status to that tab alone: not in the stream, the replay log or the other tab", () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold }) => {
      const { connect } = harness(scheduler, [cold<LLMEvent>('-a-(s|)', e)]);
      const first = connect();
      const second = connect();
      scheduler.schedule(() => {
        const { sessionId, resumeToken } = greetingOf(first.transport).data;
        second.connection.receive(
          JSON.stringify({ type: 'resume', id: 'r1', data: { sessionId, resumeToken, lastSeq: 0, share: true } }),
          false,
        );
      }, 0);
      first.at(1, userMessage('q1'));
      second.at(10, control('h1', 'get_history'));
      second.at(11, control('s1', 'get_status'));
      // A bogus answer of the second tab's is refused to it alone, too.
      second.at(12, { type: 'tool_approval', id: 'a1', data: { toolCallId: 'nope', approved: true } });
      scheduler.flush();
      const session = first.connection.session;
      const seqBefore = session.lastSeq;
      const answers = second.transport.frames
        .map(({ message }) => message)
        .filter((message) => message.seq === undefined);
      expect(
        answers.map((message) => `${message.type} ${String((message.data as { requestId?: string }).requestId)}`),
      ).toEqual(['session undefined', 'session r1', 'history h1', 'status s1', 'error a1']);
      const history = answers.find((message) => message.type === 'history');
      expect(history?.data).toMatchObject({
        messages: [
          { role: 'user', content: 'hi' },
          { role: 'assistant', content: 'one ' },
        ],
      });
      const firstSaw = first.transport.frames.map(({ message }) => (message.data as { requestId?: string }).requestId);
      for (const id of ['h1', 's1', 'a1']) expect(firstSaw).not.toContain(id);
      // Nothing of theirs took a seq: the replay log holds the reply's frames only.
      const replay = session.replaySince(0);
      expect('frames' in replay && replay.frames.every((frame) => !/"requestId":"(h1|s1|a1)"/.test(frame))).toBe(true);
      expect(session.lastSeq).toBe(seqBefore);
    });
  });
});
