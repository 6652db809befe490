import { newSessionIdentity } from '../../src/core/ids';
import type { ClaimResult, Session } from '../../src/core/ports';
import { createLocalSessions } from '../../src/core/sessions';
import { createMemorySessionDirectory } from '../../src/store/memory-store';

/** A session as the directory sees it: an id, a size, and whether it has said anything. */
interface FakeSession {
  id: string;
  resumeToken: string;
  lastSeq: number;
  busy: boolean;
  heldBytes: number;
  disposed: boolean;
}

function setup(budget: { maxSessions: number; maxBytes: number }) {
  const made: FakeSession[] = [];
  const warnings: string[] = [];
  const sessions = createLocalSessions({
    ttlMs: 60_000,
    budget,
    logger: {
      info: () => undefined,
      warn: (first: object | string, message?: string) =>
        void warnings.push(`${String(message ?? first)} ${JSON.stringify(first)}`),
      error: () => undefined,
    },
  });
  const directory = createMemorySessionDirectory({
    sessions,
    newIdentity: newSessionIdentity,
    makeSession: ({ sessionId, resumeToken }) => {
      const fake = {
        id: sessionId,
        resumeToken,
        lastSeq: 1,
        busy: false,
        heldBytes: 0,
        disposed: false,
        replaySince: () => ({ frames: [] }),
        end: () => {
          fake.disposed = true;
        },
      };
      made.push(fake);
      return fake as unknown as Session;
    },
  });
  /** A new session holding `bytes`, then detached (its client left). */
  const abandoned = (bytes: number): FakeSession => {
    const session = directory.create(undefined);
    const fake = made[made.length - 1] as FakeSession;
    fake.heldBytes = bytes;
    directory.detached(session);
    return fake;
  };
  return { directory, sessions, made, warnings, abandoned };
}

describe('the core keeps the memory store within a session budget', () => {
  afterEach(() => jest.useRealTimers());

  it('drops the sessions detached longest ago first once their bytes pass the budget', async () => {
    const { directory, abandoned, warnings } = setup({ maxSessions: 100, maxBytes: 1000 });
    const [a, b, c] = [abandoned(400), abandoned(400), abandoned(400)];
    expect([a, b, c].map((s) => s?.disposed)).toEqual([true, false, false]);
    expect(directory.claim(a.id, a.resumeToken, 0)).toEqual({ outcome: 'session_lost' });
    expect(directory.claim(b.id, b.resumeToken, 0)).toMatchObject({ outcome: 'resumed' });
    expect(warnings).toEqual([
      expect.stringContaining(
        'dropped detached sessions, least recently used first: over the session budget {"dropped":1',
      ),
    ]);
    await directory.close();
  });

  it('counts a resumed session as used again: it is dropped after those detached since', async () => {
    const { directory, sessions, abandoned } = setup({ maxSessions: 3, maxBytes: Infinity });
    const a = abandoned(1);
    const b = abandoned(1);
    const resumed = directory.claim(a.id, a.resumeToken, 0) as ClaimResult;
    if (resumed.outcome !== 'resumed') throw new Error('expected a resume');
    sessions.attached(resumed.session);
    directory.detached(resumed.session);
    expect(sessions.admit()).toBe(true); // a, b: room for one more
    abandoned(1);
    expect(sessions.admit()).toBe(true); // drops b, detached before a was used again
    expect([a.disposed, b.disposed]).toEqual([false, true]);
    await directory.close();
  });

  it('refuses a new session when only connected sessions are left over the budget, and admits once one goes', async () => {
    const { directory, sessions, made } = setup({ maxSessions: 100, maxBytes: 1000 });
    const first = directory.create(undefined);
    (made[0] as FakeSession).heldBytes = 1200; // connected: never dropped
    expect(sessions.admit()).toBe(false);
    (made[0] as FakeSession).heldBytes = 900;
    expect(sessions.admit()).toBe(true);
    directory.end(first);
    await directory.close();
  });

  it('sums the bytes of thousands of sessions once for a herd of connections, not once per connection', async () => {
    jest.useFakeTimers(); // performance.now() stands still
    const { directory, sessions, made } = setup({ maxSessions: 100_000, maxBytes: 1e12 });
    let reads = 0;
    const counting = (fake: FakeSession): void => {
      let bytes = fake.heldBytes;
      Object.defineProperty(fake, 'heldBytes', {
        get: () => {
          reads++;
          return bytes;
        },
        set: (value: number) => (bytes = value),
      });
    };
    for (let i = 0; i < 2000; i++) {
      directory.create(undefined);
      counting(made[made.length - 1] as FakeSession);
    }
    reads = 0;
    // A herd: 500 connections admitted within one instant.
    for (let i = 0; i < 500; i++) expect(sessions.admit()).toBe(true);
    expect(reads).toBe(2000);
    // Once the sum is older than 100 ms, the next check sums again.
    jest.advanceTimersByTime(100);
    sessions.admit();
    expect(reads).toBe(4000);
    await directory.close();
  });

  it('has no budget unless given one', async () => {
    const sessions = createLocalSessions({ ttlMs: 1000 });
    const directory = createMemorySessionDirectory({
      sessions,
      newIdentity: newSessionIdentity,
      makeSession: () => ({ id: 'x', heldBytes: 1e12, end: () => undefined }) as unknown as Session,
    });
    directory.create(undefined);
    expect(sessions.admit()).toBe(true);
    await directory.close();
  });
});
