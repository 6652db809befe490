import fc from 'fast-check';
import { ReplayLog } from '../../src/core/replay-log';

const filled = (count: number, limits = { maxMessages: 100, maxBytes: 10_000 }): ReplayLog => {
  const log = new ReplayLog(limits);
  for (let seq = 1; seq <= count; seq++) log.append(seq, `m${seq}`);
  return log;
};

describe('ReplayLog', () => {
  it('replays everything after lastSeq, in order', () => {
    const log = filled(5);
    expect(log.since(2)).toEqual({ frames: ['m3', 'm4', 'm5'] });
    expect(log.since(0)).toEqual({ frames: ['m1', 'm2', 'm3', 'm4', 'm5'] });
    expect(log.since(5)).toEqual({ frames: [] });
    expect(log.since(9)).toEqual({ frames: [] });
  });

  it('drops the oldest past maxMessages, and reports a gap for a resume that needs them', () => {
    const log = filled(10, { maxMessages: 4, maxBytes: 10_000 });
    expect(log.size).toBe(4);
    expect(log.since(6)).toEqual({ frames: ['m7', 'm8', 'm9', 'm10'] });
    expect(log.since(5)).toEqual({ gap: { oldestHeld: 7 } });
  });

  it('drops the oldest past maxBytes (UTF-8 bytes)', () => {
    const log = new ReplayLog({ maxMessages: 100, maxBytes: 10 });
    log.append(1, 'ééé'); // 6 bytes
    log.append(2, 'abcd'); // 4 bytes: 10 in all, at the limit
    expect(log.size).toBe(2);
    log.append(3, 'x');
    expect(log.size).toBe(2);
    expect(log.heldBytes).toBe(5);
    expect(log.since(0)).toEqual({ gap: { oldestHeld: 2 } });
  });

  it('forgets what the client acknowledged', () => {
    const log = filled(5);
    log.acknowledge(3);
    expect(log.size).toBe(2);
    expect(log.since(3)).toEqual({ frames: ['m4', 'm5'] });
    expect(log.since(2)).toEqual({ gap: { oldestHeld: 4 } });
  });

  it('refuses a seq out of order', () => {
    const log = filled(2);
    expect(() => log.append(4, 'x')).toThrow('replay log expected seq 3, got 4');
  });

  it('agrees with a plain array for any mix of appends, acknowledgements and limits', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.string({ maxLength: 20 }).map((text) => ({ append: text })),
            fc.nat(300).map((ack) => ({ ack })),
          ),
        ),
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 1, max: 200 }),
        fc.nat(300),
        (steps, maxMessages, maxBytes, lastSeq) => {
          const log = new ReplayLog({ maxMessages, maxBytes });
          const all: string[] = [];
          for (const step of steps) {
            if ('append' in step) {
              all.push(step.append);
              log.append(all.length, step.append);
            } else log.acknowledge(step.ack);
          }
          const result = log.since(lastSeq);
          if ('frames' in result) expect(result.frames).toEqual(all.slice(lastSeq));
          else expect(result.gap.oldestHeld).toBeGreaterThan(lastSeq + 1);
          expect(log.size).toBeLessThanOrEqual(maxMessages);
        },
      ),
      { numRuns: 300 },
    );
  });
});
