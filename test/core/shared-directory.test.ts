/**
 * The core's shared sessions (core/shared-directory.ts, shared-claims.ts, following.ts) without
 * Redis: two or three `makeServer` cores, each a simulated process, on one in-memory hub
 * (test/utils/memory-shared-store.ts), over fake transports and a scripted model. What a client
 * relies on when it reconnects to another process: the replay and the live reply, its frames
 * reaching the writer, the takeover when the writer lets go or dies, pushes, broadcasts, refusals
 * and deletion.
 */
import { Observable, ReplaySubject } from 'rxjs';
import { silentLogger } from '../../src/core/logger';
import { type LLMWSCore, makeServer } from '../../src/core/make-server';
import type { SessionStore, SharedStoreParts } from '../../src/core/ports';
import type { LLMEvent, LLMRequest } from '../../src/llm/types';
import { testSessionSettings } from '../utils/session-settings';
import { CLIENT_WAIT_MS, CoreClient } from '../utils/core-client';
import { createMemoryHub, type MemoryHub } from '../utils/memory-shared-store';
import { waitUntil, waitUntilTrue } from '../utils/wait-until';

/** Longest a test waits for one event. */
const WAIT_MS = CLIENT_WAIT_MS;

/** One model reply, played as the test says; `cancelled` once the session stopped reading it before its end. */
class Round {
  private readonly events = new ReplaySubject<LLMEvent>();
  private finished = false;
  cancelled = false;
  readonly stream = new Observable<LLMEvent>((subscriber) => {
    const reading = this.events.subscribe(subscriber);
    return () => {
      this.cancelled = !this.finished;
      reading.unsubscribe();
    };
  });
  text(delta: string): void {
    this.events.next({ type: 'text', delta });
  }
  finish(): void {
    this.finished = true;
    this.events.next({ type: 'finish', reason: 'stop' });
    this.events.complete();
  }
}

/** The model every process calls, one scripted round per call, noting which process made it. */
class Script {
  private readonly rounds: Round[] = [];
  readonly calls: { readonly processId: string; readonly request: LLMRequest }[] = [];
  round(): Round {
    const round = new Round();
    this.rounds.push(round);
    return round;
  }
  providerOf(processId: string): (request: LLMRequest) => Observable<LLMEvent> {
    return (request) => {
      const round = this.rounds.shift();
      if (!round) throw new Error('no more model rounds scripted');
      this.calls.push({ processId, request });
      return round.stream;
    };
  }
}

/**
 * A process's store with its records' `load` (what a takeover loads the session with) held while
 * `armed` until `open()`, or failing once with `failNext`: the moment a takeover is under way.
 */
class LoadGate {
  armed = false;
  failNext = false;
  private readonly waiting: (() => void)[] = [];
  /** Told when a load reaches the gate: gates may share one, to wait for whichever is reached first. */
  constructor(private readonly changed = new Set<() => void>()) {}
  wrap(store: SessionStore): SessionStore {
    return {
      kind: store.kind,
      open: (context) => {
        const parts = store.open(context) as SharedStoreParts;
        const { records } = parts;
        const gated: typeof records.load = async (...args) => {
          if (this.failNext) {
            this.failNext = false;
            throw new Error('the store did not answer');
          }
          if (this.armed) {
            const opened = new Promise<void>((resolve) => this.waiting.push(resolve));
            this.changed.forEach((check) => check());
            await opened;
          }
          return records.load(...args);
        };
        return { ...parts, records: { ...records, load: gated } };
      },
    };
  }
  /** Whether a load waits at the gate. */
  get isReached(): boolean {
    return this.waiting.length > 0;
  }
  /** Resolves once a load waits at the gate. */
  reached(): Promise<true> {
    return waitUntil(
      () => this.isReached || undefined,
      this.changed,
      WAIT_MS,
      () => 'no load reached the gate',
    );
  }
  open(): void {
    this.armed = false;
    this.waiting.splice(0).forEach((resolve) => resolve());
  }
}

const ada = { user: 'ada' };
const userMessage = (id: string, text: string) => ({ type: 'user_message', id, data: { text } });
const resume = (id: string, of: CoreClient, lastSeq = 0, share = false) => ({
  type: 'resume',
  id,
  data: { ...of.greeting, lastSeq, ...(share ? { share } : {}) },
});
const withId = (requestId: string) => (data: Record<string, unknown>) => data.requestId === requestId;

let hub: MemoryHub;
let script: Script;
let cores: LLMWSCore[];

/** A process named `processId` on the hub (its store seen through `gate`, if given). */
function start(processId: string, gate?: LoadGate): LLMWSCore {
  const store = hub.store(processId);
  const core = makeServer({
    store: gate ? gate.wrap(store) : store,
    session: testSessionSettings(script.providerOf(processId)),
    sessionTtlMs: 60_000,
    logger: silentLogger,
  });
  cores.push(core);
  return core;
}

beforeEach(() => {
  hub = createMemoryHub({ idleMs: 20 });
  script = new Script();
  cores = [];
});
afterEach(async () => {
  await Promise.all(cores.map((core) => core.close()));
});

/** A reply running on `a` (its first chunk out), and a client that resumed it on `b`. */
async function followedReply(a: LLMWSCore, b: LLMWSCore, share = false) {
  const first = new CoreClient(a, ada);
  const round = script.round();
  first.write(userMessage('q1', 'hi'));
  round.text('one ');
  await first.waitFor('llm_chunk', withId('q1'));
  const second = new CoreClient(b, ada);
  second.write(resume('r1', first, 0, share));
  await second.waitFor('session', withId('r1'));
  return { first, second, round, sessionId: first.greeting.sessionId };
}

describe('sessions shared by processes (the core on an in-memory store)', () => {
  it('replays every frame once on another process, then follows the live reply in order', async () => {
    const [a, b] = [start('a'), start('b')];
    const { first, second, round, sessionId } = await followedReply(a, b);
    expect(await first.closed()).toEqual({ code: 4409, reason: 'the session was resumed on another connection' });
    // Live: each chunk reaches the follower while the reply still runs on `a`.
    round.text('two ');
    await second.waitFor('llm_chunk', (data) => data.chunk === 'two ');
    round.text('three');
    await second.waitFor('llm_chunk', (data) => data.chunk === 'three');
    expect(hub.ownerOf(sessionId)).toBe('a');
    round.finish();
    await second.waitFor('llm_complete', withId('q1'));
    expect(second.chunks('q1')).toEqual(['one ', 'two ', 'three']);
    // Every frame of the log, once, in order: the replay, then what the writer appended.
    expect(second.stream).toEqual(hub.frames(sessionId).map((frame) => JSON.parse(frame.text)));
    expect(second.stream.map((message) => message.seq)).toEqual(second.stream.map((_, i) => i + 1));
    expect(script.calls.map((call) => call.processId)).toEqual(['a']);
  });

  it("replays from the shared log to a second tab on the follower's process (the follower holds only what came after it began)", async () => {
    const [a, b] = [start('a'), start('b')];
    const { first, second, round } = await followedReply(a, b, true);
    round.text('two ');
    await second.waitFor('llm_chunk', (data) => data.chunk === 'two ');
    const third = new CoreClient(b, ada);
    third.write(resume('r2', first, 0, true));
    await third.waitFor('session', withId('r2'));
    round.finish();
    await third.waitFor('llm_complete', withId('q1'));
    await second.waitFor('llm_complete', withId('q1'));
    expect(third.stream).toEqual(second.stream);
    expect(third.stream.map((message) => message.seq)).toEqual(third.stream.map((_, i) => i + 1));
  });

  it("answers a follower's control on the writer, to that connection alone, and stops the writer's reply on abort", async () => {
    const [a, b] = [start('a'), start('b')];
    const { first, second, round } = await followedReply(a, b, true);
    second.write({ type: 'control', id: 'h1', data: { type: 'get_history' } });
    const history = await second.waitFor('history', withId('h1'));
    expect(history.data).toMatchObject({ messages: [{ role: 'user', content: 'hi' }] });
    second.write({ type: 'control', id: 'x1', data: { type: 'abort' } });
    const complete = await second.waitFor('llm_complete', withId('q1'));
    expect(complete.data).toMatchObject({ finishReason: 'aborted', fullText: 'one ' });
    await second.waitFor('status', withId('x1'));
    expect(round.cancelled).toBe(true);
    // The writer's own tab saw the reply end, not the answers that were the follower's alone.
    await first.waitFor('llm_complete', withId('q1'));
    expect(first.received.filter((message) => message.type === 'history')).toEqual([]);
  });

  it('takes over once the writer lets go (reply ended, its client gone): the next message is answered on the new process', async () => {
    // No idle check within the test: the takeover must follow the writer's word (`released`).
    hub = createMemoryHub({ idleMs: 60_000 });
    const [a, b] = [start('a'), start('b')];
    const { second, round, sessionId } = await followedReply(a, b);
    round.text('two');
    round.finish();
    await second.waitFor('llm_complete', withId('q1'));
    await waitUntilTrue(() => hub.ownerOf(sessionId) === 'b', WAIT_MS, 5);
    expect(a.sessionCount).toBe(0);
    script.round().finish();
    second.write(userMessage('q2', 'again'));
    await second.waitFor('llm_complete', withId('q2'));
    expect(script.calls.map((call) => call.processId)).toEqual(['a', 'b']);
    // The conversation came along: the new writer's model saw it.
    expect(script.calls[1]?.request.messages.map((message) => message.content)).toEqual(['hi', 'one two', 'again']);
    expect(second.stream.map((message) => message.seq)).toEqual(second.stream.map((_, i) => i + 1));
  });

  it('takes over when the writer dies mid-reply: the client hears reply_interrupted, then idle, then the answer to what it sent meanwhile', async () => {
    const [a, b] = [start('a'), start('b')];
    const { second, round, sessionId } = await followedReply(a, b);
    hub.kill('a');
    round.text('lost');
    // Sent before the takeover: forwarded to the dead writer, it is answered once `b` took over.
    script.round().finish();
    second.write(userMessage('q2', 'again'));
    const error = await second.waitFor('error', withId('q1'));
    expect(error.data).toMatchObject({ code: 'reply_interrupted', retryable: true });
    const idle = await second.waitFor('status', (data) => data.requestId === 'q1' && data.status === 'idle');
    expect(second.received.indexOf(idle)).toBeGreaterThan(second.received.indexOf(error));
    expect(second.chunks('q1')).toEqual(['one ']);
    expect(hub.ownerOf(sessionId)).toBe('b');
    await second.waitFor('llm_complete', withId('q2'));
    expect(script.calls.map((call) => call.processId)).toEqual(['a', 'b']);
    // The user's message of the interrupted reply is kept.
    expect(script.calls[1]?.request.messages.map((message) => message.content)).toEqual(['hi', 'again']);
    expect(second.stream.map((message) => message.seq)).toEqual(second.stream.map((_, i) => i + 1));
  });

  it('replays the reply and its interruption to a resume on another process after the writer died', async () => {
    const [a, b] = [start('a'), start('b')];
    const first = new CoreClient(a, ada);
    script.round().text('one ');
    first.write(userMessage('q1', 'hi'));
    await first.waitFor('llm_chunk', withId('q1'));
    hub.kill('a');
    const second = new CoreClient(b, ada);
    second.write(resume('r1', first));
    await second.waitFor('session', withId('r1'));
    expect(second.chunks('q1')).toEqual(['one ']);
    expect(second.stream.slice(-2).map((message) => message.data)).toEqual([
      expect.objectContaining({ code: 'reply_interrupted', requestId: 'q1' }),
      { status: 'idle', requestId: 'q1' },
    ]);
    expect(second.stream.map((message) => message.seq)).toEqual(second.stream.map((_, i) => i + 1));
    expect(hub.ownerOf(first.greeting.sessionId)).toBe('b');
  });

  it('lets go of a session it took over when its client left while the session loaded', async () => {
    const gate = new LoadGate();
    const [a, b, c] = [start('a'), start('b', gate), start('c')];
    const { first, second, round, sessionId } = await followedReply(a, b);
    gate.armed = true;
    round.finish();
    await gate.reached();
    expect(hub.ownerOf(sessionId)).toBe('b');
    second.leave();
    gate.open();
    // Else a resume elsewhere would follow `b`, which holds nothing, for as long as `b` lives.
    await waitUntilTrue(() => hub.ownerOf(sessionId) === '', WAIT_MS, 5);
    const third = new CoreClient(c, ada);
    third.write(resume('r2', first));
    await third.waitFor('session', withId('r2'));
    script.round().finish();
    third.write(userMessage('q2', 'again'));
    await third.waitFor('llm_complete', withId('q2'));
    expect(script.calls.map((call) => call.processId)).toEqual(['a', 'c']);
  });

  it('closes the client 1013 and lets go when its takeover cannot load the session; its resume is then served', async () => {
    const gate = new LoadGate();
    const [a, b] = [start('a'), start('b', gate)];
    const { first, second, round, sessionId } = await followedReply(a, b);
    gate.failNext = true;
    round.finish();
    expect((await second.closed()).code).toBe(1013);
    expect(hub.failures).toEqual([new Error('the store did not answer')]);
    await waitUntilTrue(() => hub.ownerOf(sessionId) === '', WAIT_MS, 5);
    const again = new CoreClient(b, ada);
    again.write(resume('r2', first, second.stream.at(-1)?.seq ?? 0));
    await again.waitFor('session', withId('r2'));
    script.round().finish();
    again.write(userMessage('q2', 'again'));
    await again.waitFor('llm_complete', withId('q2'));
    expect(script.calls.map((call) => call.processId)).toEqual(['a', 'b']);
  });

  it('closes a resume 1013 and lets go when the session it claimed cannot be loaded; a resume on another process then writes it', async () => {
    const gate = new LoadGate();
    const [a, b, c] = [start('a'), start('b', gate), start('c')];
    const first = new CoreClient(a, ada);
    script.round().finish();
    first.write(userMessage('q1', 'hi'));
    await first.waitFor('status', (data) => data.requestId === 'q1' && data.status === 'idle');
    const { sessionId } = first.greeting;
    first.leave();
    await waitUntilTrue(() => hub.ownerOf(sessionId) === '', WAIT_MS, 5);
    const lastSeq = first.stream.at(-1)?.seq ?? 0;
    expect(lastSeq).toBeGreaterThan(0);

    gate.failNext = true;
    const failed = new CoreClient(b, ada);
    failed.write(resume('r1', first, lastSeq));
    expect((await failed.closed()).code).toBe(1013);
    // `b` claimed the session and cannot write it: it must not keep it (its lease runs), or `c` would follow `b` for good.
    await waitUntilTrue(() => hub.ownerOf(sessionId) === '', WAIT_MS, 5);
    const again = new CoreClient(c, ada);
    again.write(resume('r2', first, lastSeq));
    await again.waitFor('session', withId('r2'));
    script.round().finish();
    again.write(userMessage('q2', 'again'));
    await again.waitFor('llm_complete', withId('q2'));
    expect(script.calls.map((call) => call.processId)).toEqual(['a', 'c']);
  });

  it('answers a frame sent on the follower that lost the takeover to another follower', async () => {
    // Two tabs follow (on `b` and `c`); the writer `a` lets go and both try to take the session
    // over. What the loser's tab sends while the winner still loads reaches a process that does
    // not write yet (it refuses it): the winner's `writing` has the loser forward it again.
    hub = createMemoryHub({ idleMs: 60_000 });
    const gateReached = new Set<() => void>();
    const [gateB, gateC] = [new LoadGate(gateReached), new LoadGate(gateReached)];
    const [a, b, c] = [start('a'), start('b', gateB), start('c', gateC)];
    const { first, second, round, sessionId } = await followedReply(a, b, true);
    const third = new CoreClient(c, ada);
    third.write(resume('r2', first, 0, true));
    await third.waitFor('session', withId('r2'));
    first.leave();
    gateB.armed = true;
    gateC.armed = true;
    round.finish();
    // One wait for both gates: a race of two waits left the loser's 2 s timer running after the test.
    const winner = await waitUntil(
      () => (gateB.isReached ? 'b' : gateC.isReached ? 'c' : undefined),
      gateReached,
      WAIT_MS,
      () => 'no load reached either gate',
    );
    const [gate, loser, won] = winner === 'b' ? [gateB, third, second] : [gateC, second, third];
    expect(hub.ownerOf(sessionId)).toBe(winner);
    script.round().finish();
    loser.write(userMessage('q2', 'again'));
    // Heard by every process (the winner refused it: it does not write yet) before the winner writes.
    await waitUntilTrue(() => hub.delivered.some((m) => m.t === 'control' && m.m.id === 'q2'), WAIT_MS, 1);
    gate.open();
    await loser.waitFor('llm_complete', withId('q2'));
    await won.waitFor('llm_complete', withId('q2'));
    expect(script.calls.map((call) => call.processId)).toEqual(['a', winner]);
    // Once: the loser's hold forwarded again, taken by the new writer, and not handled twice.
    expect(loser.received.filter((m) => m.type === 'llm_complete' && m.data.requestId === 'q2')).toHaveLength(1);
  });

  it('pushes to a session another process holds, and to one nobody holds (replayed on resume)', async () => {
    const [a, b] = [start('a'), start('b')];
    const first = new CoreClient(a, ada);
    const { sessionId } = first.greeting;
    expect(await b.push(sessionId, { type: 'notification', data: { event: 'held' } })).toBe(true);
    expect((await first.waitFor('notification')).seq).toBe(1);
    expect(await b.push('no-such-session', { type: 'notification', data: { event: 'x' } })).toBe(false);

    first.leave();
    await waitUntilTrue(() => hub.ownerOf(sessionId) === '', WAIT_MS, 5);
    expect(await b.push(sessionId, { type: 'notification', data: { event: 'kept' } })).toBe(true);
    expect(b.sessionCount).toBe(0);
    const again = new CoreClient(a, ada);
    again.write(resume('r1', first, 1));
    const kept = await again.waitFor('notification', (data) => data.event === 'kept');
    expect(kept.seq).toBe(2);
  });

  it('broadcasts to the sessions of every process but the one excluded', async () => {
    const [a, b, c] = [start('a'), start('b'), start('c')];
    const [onA, onB, onC] = [new CoreClient(a, ada), new CoreClient(b, ada), new CoreClient(c, ada)];
    const notification = (event: string) => ({ type: 'notification' as const, data: { event } });
    expect(await a.broadcast(notification('not-b'), onB.greeting.sessionId)).toBe(1);
    expect(await a.broadcast(notification('all'))).toBe(1);
    for (const client of [onA, onC]) await client.waitFor('notification', (data) => data.event === 'all');
    await onB.waitFor('notification', (data) => data.event === 'all');
    // The bus keeps its order: what onB got before `all` is all it got.
    expect(onB.received.filter((message) => message.type === 'notification').map((m) => m.data)).toEqual([
      { event: 'all' },
    ]);
    expect(onC.received.filter((message) => message.type === 'notification')).toHaveLength(2);
  });

  it('refuses a resume on another process with a wrong token, and one by another principal; the writer keeps its client', async () => {
    const [a, b] = [start('a'), start('b')];
    const first = new CoreClient(a, ada);
    const wrong = new CoreClient(b, ada);
    wrong.write({ type: 'resume', id: 'r1', data: { ...first.greeting, resumeToken: 'nope', lastSeq: 0 } });
    expect(await wrong.closed()).toEqual({ code: 4403, reason: 'wrong resume token' });
    const bob = new CoreClient(b, { user: 'bob' });
    bob.write(resume('r2', first));
    expect(await bob.closed()).toEqual({ code: 4403, reason: 'the session belongs to another principal' });
    expect(first.closedWith).toBeUndefined();
    expect(hub.ownerOf(first.greeting.sessionId)).toBe('a');
    expect([...b.sessions()].map((session) => session.id)).not.toContain(first.greeting.sessionId);
  });

  it('closes the connections of a deleted conversation on every process (4410) and lets go of it', async () => {
    const [a, b] = [start('a'), start('b')];
    const { first, second, sessionId } = await followedReply(a, b, true);
    await hub.delete(sessionId);
    const deleted = { code: 4410, reason: 'the conversation was deleted' };
    expect(await first.closed()).toEqual(deleted);
    expect(await second.closed()).toEqual(deleted);
    for (const core of [a, b]) expect([...core.sessions()].map((session) => session.id)).not.toContain(sessionId);
  });
});
