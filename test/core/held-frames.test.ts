import { HeldFrames, MAX_HELD_FRAMES } from '../../src/core/held-frames';

describe('HeldFrames', () => {
  it('holds up to the cap, lets go by key, and hands everything back oldest first', () => {
    const held = new HeldFrames<number>();
    const keys = Array.from({ length: MAX_HELD_FRAMES }, (_, i) => held.hold(i));
    expect(new Set(keys).size).toBe(MAX_HELD_FRAMES);
    expect([held.full, held.hold(-1), held.size]).toEqual([true, undefined, MAX_HELD_FRAMES]);
    held.release(keys[0] as string);
    held.release('no such key');
    expect(held.full).toBe(false);
    const next = held.hold(MAX_HELD_FRAMES);
    expect(keys).not.toContain(next); // a key is never given twice
    const all = held.takeAll();
    expect([all[0], all[all.length - 1], all.length, held.size]).toEqual([1, MAX_HELD_FRAMES, MAX_HELD_FRAMES, 0]);
  });
});
