import { createFollowerSession } from '../../src/core/follower-session';
import { MAX_HELD_FRAMES } from '../../src/core/held-frames';
import type { ForwardedFrame } from '../../src/core/follower-session';
import { silentLogger } from '../../src/server/logger';
import { FakeTransport, newScheduler } from '../utils/session-harness';

describe('a follower holding what it forwarded', () => {
  it('forwards up to MAX_HELD_FRAMES untaken frames, refuses the next, and has room again once the writer took one', () => {
    const forwarded: ForwardedFrame[] = [];
    const follower = createFollowerSession(
      {
        replay: { maxMessages: 100, maxBytes: 100_000 },
        backpressure: { highWaterMark: 1000, hardLimit: 5000 },
        logger: silentLogger,
        nextMessageId: () => 'm',
      },
      { sessionId: 's', resumeToken: 't', principal: undefined, startSeq: 0, forward: (f) => void forwarded.push(f) },
    );
    const transport = new FakeTransport(newScheduler());
    follower.attach(transport);
    const status = (id: string) => ({ type: 'control', id, data: { type: 'get_status' } }) as const;
    for (let i = 0; i <= MAX_HELD_FRAMES; i++) follower.handle(status(`c${i}`), transport);
    expect(forwarded).toHaveLength(MAX_HELD_FRAMES);
    expect(transport.frames.map(({ message }) => message.data)).toEqual([
      expect.objectContaining({ code: 'rate_limited', requestId: `c${MAX_HELD_FRAMES}` }),
    ]);
    follower.took(forwarded[0]?.key as string);
    follower.handle(status('again'), transport);
    expect(forwarded[forwarded.length - 1]).toMatchObject({ message: { id: 'again' }, connection: '1' });
    follower.end();
  });
});
