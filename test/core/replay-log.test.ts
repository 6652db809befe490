import fc from 'fast-check';
import { SEGMENT_MAX_CHUNKS } from '../../src/core/chunk-segment';
import { ReplayLog } from '../../src/core/replay-log';
import type { ServerMessageInput } from '../../src/protocol/codecs';
import { encodeServerMessage } from '../../src/protocol/encode';

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

describe('ReplayLog: chunks of one reply kept as segments', () => {
  type Step = { kind: 'text' | 'reasoning'; request: 'a' | 'b'; chunk: string } | { kind: 'status' } | { ack: number };
  const encode = (message: ServerMessageInput, seq: number) => encodeServerMessage(message, `i${seq}`, seq);
  const messageOf = (step: Exclude<Step, { ack: number }>): ServerMessageInput =>
    step.kind === 'status'
      ? { type: 'status', data: { status: 'idle' } }
      : step.kind === 'text'
        ? { type: 'llm_chunk', data: { chunk: step.chunk, isComplete: false, requestId: step.request } }
        : { type: 'llm_reasoning', data: { chunk: step.chunk, requestId: step.request } };
  /** What a client makes of frames after `lastSeq`: each message once by seq, text and reasoning per request, other types. */
  const read = (frames: readonly string[], lastSeq: number) => {
    const seen: string[] = [];
    let upTo = lastSeq;
    for (const frame of frames) {
      const message = JSON.parse(frame) as { type: string; seq: number; data: { chunk?: string; requestId?: string } };
      expect(message.seq).toBeGreaterThan(upTo);
      upTo = message.seq;
      const last = seen[seen.length - 1];
      const key = `${message.type}:${message.data.requestId ?? ''}:`;
      if (message.data.chunk !== undefined && last?.startsWith(key)) seen[seen.length - 1] = last + message.data.chunk;
      else seen.push(key + (message.data.chunk ?? ''));
    }
    return { seen, upTo };
  };

  it('replays after any lastSeq what the frames held, seq by seq, for any mix of chunks and other messages', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            {
              weight: 8,
              arbitrary: fc.record({
                kind: fc.constantFrom('text' as const, 'reasoning' as const),
                request: fc.constantFrom('a' as const, 'b' as const),
                chunk: fc.string({ maxLength: 6, unit: 'binary' }),
              }),
            },
            { weight: 1, arbitrary: fc.constant({ kind: 'status' as const }) },
            { weight: 1, arbitrary: fc.nat(3000).map((ack) => ({ ack })) },
          ),
          { maxLength: 1500 },
        ),
        fc.nat(3000),
        (steps, lastSeq) => {
          const log = new ReplayLog({ maxMessages: 100_000, maxBytes: 10_000_000 });
          const frames: string[] = [];
          let acked = 0;
          for (const step of steps) {
            if ('ack' in step) {
              log.acknowledge(step.ack);
              acked = Math.max(acked, Math.min(step.ack, frames.length));
              continue;
            }
            const seq = frames.length + 1;
            const message = messageOf(step);
            frames.push(encode(message, seq));
            log.append(seq, frames[seq - 1] as string, message, `i${seq}`);
          }
          const result = log.since(lastSeq);
          if (lastSeq < acked) return expect(result).toEqual({ gap: { oldestHeld: acked + 1 } });
          if (!('frames' in result)) throw new Error('unexpected gap');
          const expected = read(frames.slice(lastSeq), lastSeq);
          const replayed = read(result.frames, lastSeq);
          expect(replayed.seen).toEqual(expected.seen);
          expect(replayed.upTo).toBe(expected.upTo);
          expect(result.frames.length).toBe(Math.max(0, frames.length - lastSeq));
        },
      ),
      { numRuns: 100 },
    );
  });

  it('holds a reply of 100,000 one-character chunks in a few hundred entries, about a byte per chunk past its text', () => {
    const log = new ReplayLog({ maxMessages: 5000, maxBytes: 10 * 1024 * 1024 });
    let text = '';
    for (let seq = 1; seq <= 100_000; seq++) {
      const chunk = String.fromCharCode(97 + (seq % 26));
      text += chunk;
      const message: ServerMessageInput = { type: 'llm_chunk', data: { chunk, isComplete: false, requestId: 'm1' } };
      log.append(seq, encode(message, seq), message, `i${seq}`);
    }
    expect(log.size).toBe(Math.ceil(100_000 / SEGMENT_MAX_CHUNKS));
    expect(log.heldBytes).toBeLessThan(2 * 100_000 + 200 * log.size);
    for (const lastSeq of [0, 1, 1023, 1024, 1025, 54_321, 99_999]) {
      const result = log.since(lastSeq);
      if (!('frames' in result)) throw new Error('unexpected gap');
      expect(read(result.frames, lastSeq).seen).toEqual([`llm_chunk:m1:${text.slice(lastSeq)}`]);
    }
  });

  it('tells of a sealed run of 64 chunks or more, once, when it fills or its reply moves on', () => {
    const log = new ReplayLog({ maxMessages: 5000, maxBytes: 10_000_000 });
    const sealed: Array<[number, number]> = [];
    let seq = 0;
    const append = (message: ServerMessageInput) => {
      seq++;
      const run = log.append(seq, encode(message, seq), message, `i${seq}`);
      if (run) sealed.push([run.firstSeq, run.firstSeq + run.lengths.length - 1]);
    };
    const chunk = (requestId: string): ServerMessageInput => ({
      type: 'llm_chunk',
      data: { chunk: 'x', isComplete: false, requestId },
    });
    for (let i = 0; i < 63; i++) append(chunk('short'));
    append({ type: 'status', data: { status: 'idle' } });
    for (let i = 0; i < 1100; i++) append(chunk('long'));
    append({ type: 'llm_chunk', data: { chunk: '', isComplete: true, requestId: 'long' } });
    expect(sealed).toEqual([
      [65, 1088],
      [1089, 1164],
    ]);
  });
});
