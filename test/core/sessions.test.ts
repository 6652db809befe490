import type { ReplayResult, Session } from '../../src/core/ports';
import { createLocalSessions } from '../../src/core/sessions';

/** A session as the core's sessions see it: an id, a token, a principal, a stream. */
function fakeSession(
  id: string,
  options: { principal?: unknown; lastSeq?: number; busy?: boolean; replay?: ReplayResult } = {},
) {
  const sent: unknown[] = [];
  const session = {
    id,
    resumeToken: `token-${id}`,
    principal: options.principal,
    lastSeq: options.lastSeq ?? 1,
    busy: options.busy ?? false,
    attached: false,
    heldBytes: 0,
    ended: false,
    replaySince: () => options.replay ?? { frames: ['f'] },
    send: (message: unknown) => void sent.push(message),
    end: () => {
      session.ended = true;
    },
  };
  return { session: session as unknown as Session, fake: session, sent };
}

describe("the core's sessions of one process", () => {
  afterEach(() => jest.useRealTimers());

  it('checks a resume of a held session: the token first, then the principal, then the frames', () => {
    const sessions = createLocalSessions({ ttlMs: 1000 });
    const { session } = fakeSession('a', { principal: { user: 'u' } });
    expect(sessions.resume(session, 'wrong', 0, { user: 'other' })).toEqual({ outcome: 'forbidden' });
    expect(sessions.resume(session, 'token-a', 0, { user: 'other' })).toEqual({ outcome: 'other_principal' });
    expect(sessions.resume(session, 'token-a', 0, { user: 'u' })).toEqual({
      outcome: 'resumed',
      session,
      replay: ['f'],
    });
    // Opened by id (no token): the principal alone.
    expect(sessions.resume(session, undefined, 0, { user: 'u' })).toMatchObject({ outcome: 'resumed' });
    const gone = fakeSession('b', { replay: { gap: { oldestHeld: 5 } } }).session;
    expect(sessions.resume(gone, 'token-b', 0, undefined)).toEqual({ outcome: 'resume_gap', oldestHeld: 5 });
    expect(gone.lastSeq).toBe(1); // nothing changed: the store decides what a gap costs
  });

  it("checks a record's token hash and principal before anything changes", () => {
    const sessions = createLocalSessions({ ttlMs: 1000 });
    expect(sessions.refusal('hash', 'other', 'p', 'p')).toBe('forbidden');
    expect(sessions.refusal('hash', 'hash', 'p', 'q')).toBe('other_principal');
    expect(sessions.refusal('hash', 'hash', { a: 1, b: 2 }, { b: 2, a: 1 })).toBeUndefined();
    expect(sessions.refusal('hash', undefined, 'p', 'p')).toBeUndefined();
  });

  it('pushes to a held session and broadcasts to all held but one', () => {
    const sessions = createLocalSessions({ ttlMs: 1000 });
    const a = fakeSession('a');
    const b = fakeSession('b');
    sessions.hold(a.session);
    sessions.hold(b.session);
    const message = { type: 'notice' } as never;
    expect(sessions.push('a', message)).toBe(true);
    expect(sessions.push('c', message)).toBe(false);
    expect(sessions.broadcast(message, 'a')).toBe(1);
    expect([a.sent.length, b.sent.length]).toEqual([1, 1]);
  });

  it('drops a detached session that never said anything at once, and expires the others after the TTL', () => {
    jest.useFakeTimers();
    const expired: string[] = [];
    const sessions = createLocalSessions({ ttlMs: 1000, onExpired: (session) => void expired.push(session.id) });
    const silent = fakeSession('silent', { lastSeq: 0 });
    const spoke = fakeSession('spoke');
    sessions.hold(silent.session);
    sessions.hold(spoke.session);
    sessions.keepDetached(silent.session);
    sessions.keepDetached(spoke.session);
    expect(silent.fake.ended).toBe(true);
    expect(sessions.get('silent')).toBeUndefined();
    jest.advanceTimersByTime(999);
    expect(sessions.get('spoke')).toBe(spoke.session);
    jest.advanceTimersByTime(1);
    expect([expired, spoke.fake.ended, sessions.size]).toEqual([['spoke'], true, 0]);
  });

  it('keeps a detached session a connection took again', () => {
    jest.useFakeTimers();
    const sessions = createLocalSessions({ ttlMs: 1000 });
    const { session, fake } = fakeSession('a');
    sessions.hold(session);
    sessions.keepDetached(session);
    sessions.attached(session);
    jest.advanceTimersByTime(5000);
    expect([fake.ended, sessions.get('a')]).toEqual([false, session]);
    sessions.drop(session);
    expect([fake.ended, sessions.size]).toEqual([true, 0]);
  });

  it('settles one session at a time, in order, whether the one before failed or not', async () => {
    const sessions = createLocalSessions({ ttlMs: 1000 });
    const order: string[] = [];
    let finishFirst: () => void = () => undefined;
    const first = sessions.oneAtATime('a', async () => {
      order.push('first starts');
      await new Promise<void>((resolve) => (finishFirst = resolve));
      order.push('first fails');
      throw new Error('no store');
    });
    const second = sessions.oneAtATime('a', async () => order.push('second') && 2);
    const other = sessions.oneAtATime('b', async () => order.push('other session') && 3);
    await expect(other).resolves.toBe(3);
    expect(order).toEqual(['first starts', 'other session']);
    finishFirst();
    await expect(first).rejects.toThrow('no store');
    await expect(second).resolves.toBe(2);
    expect(order).toEqual(['first starts', 'other session', 'first fails', 'second']);
  });

  it("replays what the store read from its log, then the session's own frames after the last one read", () => {
    const sessions = createLocalSessions({ ttlMs: 1000 });
    const asked: number[] = [];
    const session = {
      replaySince: (seq: number): ReplayResult => (asked.push(seq), { frames: [`own after ${seq}`] }),
    } as unknown as Session;
    expect(
      sessions.replayAfter(
        session,
        [
          { seq: 4, text: 'f4' },
          { seq: 5, text: 'f5' },
        ],
        3,
      ),
    ).toEqual(['f4', 'f5', 'own after 5']);
    // Nothing read (the log had nothing after it): the session's own after the client's.
    expect(sessions.replayAfter(session, [], 7)).toEqual(['own after 7']);
    expect(asked).toEqual([5, 7]);
  });

  it("handles a frame a follower forwarded when it writes the session: confirmed, then answered to the sender's connection", () => {
    const sessions = createLocalSessions({ ttlMs: 1000 });
    const handled: Array<{ id: string; from: unknown }> = [];
    const writer = {
      id: 'w',
      handle: (message: { id: string }, from: unknown) => void handled.push({ id: message.id, from }),
      end: () => undefined,
    };
    const follower = { ...writer, id: 'f', promoted: false };
    sessions.hold(writer as unknown as Session);
    sessions.hold(follower as unknown as Session);
    const told: string[] = [];
    const sender = {
      took: (key: string) => void told.push(`took ${key}`),
      answer: (connection: string, message: { type: string }) => void told.push(`${message.type} to ${connection}`),
    };
    const status = { type: 'control', id: 'c1', data: { type: 'get_status' } } as const;
    expect(sessions.takeForwarded('w', { message: status, key: 'k1', connection: '2' }, sender)).toBe(true);
    expect(told).toEqual(['took k1']);
    const from = handled[0]?.from as { remote: true; answer(message: { type: string }): void };
    from.answer({ type: 'status' });
    expect([from.remote, told]).toEqual([true, ['took k1', 'status to 2']]);
    // No key or connection (an older process): handled, into the stream.
    expect(sessions.takeForwarded('w', { message: status }, sender)).toBe(true);
    expect(handled[1]?.from).toBeUndefined();
    // A follower here, or nothing held: not this process's to handle.
    expect(sessions.takeForwarded('f', { message: status, key: 'k2' }, sender)).toBe(false);
    expect(sessions.takeForwarded('none', { message: status, key: 'k3' }, sender)).toBe(false);
    expect([handled.length, told.length]).toEqual([2, 2]);
    // Forwarded again (the follower heard `writing` before this writer's `took`): confirmed, not handled twice.
    expect(sessions.takeForwarded('w', { message: status, key: 'k1', connection: '2' }, sender)).toBe(true);
    expect([handled.length, told.slice(2)]).toEqual([2, ['took k1']]);
    // The keys go with the session: held again later, a frame under an old key is new to it.
    sessions.drop(writer as unknown as Session);
    sessions.hold(writer as unknown as Session);
    expect(sessions.takeForwarded('w', { message: status, key: 'k1', connection: '2' }, sender)).toBe(true);
    expect(handled.length).toBe(3);
  });
});
