import type { ClaimResult } from '../../src/core/ports';
import { MAX_HELD_FRAMES } from '../../src/core/held-frames';
import { harness, newScheduler } from '../utils/session-harness';

describe('frames held while a resume is settled', () => {
  it('holds up to MAX_HELD_FRAMES, refuses the rest with rate_limited, and handles the held ones once it is settled', async () => {
    const scheduler = newScheduler();
    const { directory, connect } = harness(scheduler);
    const first = connect();
    const { id: sessionId, resumeToken } = first.connection.session;
    // It said nothing: it goes with its connection, and the resume finds nothing (session_lost).
    first.connection.closed(1006, '');
    // A store that answers the resume later: the connection holds what comes meanwhile.
    let settle: () => void = () => undefined;
    const slow = {
      ...directory,
      claim: (...args: Parameters<typeof directory.claim>) =>
        new Promise<ClaimResult>((resolve) => (settle = () => resolve(directory.claim(...args)))),
    };
    const second = connect(undefined, slow);
    second.connection.receive(
      JSON.stringify({ type: 'resume', id: 'r', data: { sessionId, resumeToken, lastSeq: 0 } }),
      false,
    );
    for (let i = 0; i < MAX_HELD_FRAMES + 3; i++)
      second.connection.receive(JSON.stringify({ type: 'ping', id: `p${i}` }), false);
    const refused = second.transport.frames.filter(({ message }) => message.type === 'error');
    expect(refused.map(({ message }) => message.data)).toEqual(
      Array.from({ length: 3 }, () => expect.objectContaining({ code: 'rate_limited' })),
    );
    expect(second.transport.frames.filter(({ message }) => message.type === 'pong')).toEqual([]);
    settle();
    await new Promise((resolve) => setImmediate(resolve));
    const codes = second.transport.frames.map(({ message }) =>
      message.type === 'error' ? message.data.code : message.type,
    );
    // The resume's answer first, then every held ping answered, in order, by the fresh session.
    expect(codes.slice(0, 6)).toEqual([
      'session',
      'rate_limited',
      'rate_limited',
      'rate_limited',
      'session_lost',
      'pong',
    ]);
    const pongs = second.transport.frames.flatMap(({ message }) =>
      message.type === 'pong' ? [message.data.requestId] : [],
    );
    expect(pongs).toEqual(Array.from({ length: MAX_HELD_FRAMES }, (_, i) => `p${i}`));
  });
});
