/**
 * Following a session another process writes: a client resumed here while the writer (the process
 * that runs its reply) is elsewhere. The session object is a follower-mode session
 * (./follower-session.ts); this drives it: the writer's log as it grows (`Coordination.follow`),
 * the client's frames to the writer over the bus, and, once the writer lets go (its reply ended, no
 * client of its own) or stops renewing its lease (it died), the takeover: this process claims the
 * session, loads its state and promotes the follower to a writer-mode session.
 */
import type { Subscription } from 'rxjs';
import { CloseCode } from '../protocol/codes';
import type { FollowerSession } from './follower-session';
import type { ClaimResult, SharedMeta } from './ports';
import type { SharedProcess } from './shared-process';

/** Drives the follower of one session on this process, until it is promoted or let go of. */
export class Following {
  private following: Subscription | undefined;
  private checking = false;

  constructor(
    private readonly shared: SharedProcess,
    readonly session: FollowerSession,
  ) {}

  /** Starts reading the log after what the follower has, as the writer appends to it. */
  follow(): void {
    const { shared, session } = this;
    this.following = shared.coordination.follow(session.id, session.followedSeq).subscribe({
      next: (frames) => {
        for (const frame of frames) session.deliver(frame.seq, frame.text);
        if (frames.length === 0) void this.checkWriter();
      },
      error: (error: unknown) => {
        shared.reportFailure(error);
        // The store went away under the follow: the client reconnects and resumes once it is back.
        if (shared.following(session.id) === this)
          session.closeConnection(CloseCode.TryAgainLater, 'session store unavailable: try again shortly');
      },
    });
  }

  /** Stops reading the log (the follower was promoted, or let go of). */
  stop(): void {
    this.following?.unsubscribe();
    this.following = undefined;
  }

  /** The writer is checked: once it no longer holds the session, this process takes over. */
  async checkWriter(): Promise<void> {
    const { shared, session } = this;
    if (session.promoted || this.checking || shared.following(session.id) !== this || shared.closed) return;
    this.checking = true;
    let claimed = false;
    try {
      const owner = await shared.coordination.owner(session.id);
      if (owner.alive && owner.id !== shared.processId) return;
      if (!(await shared.coordination.claim(session.id, owner.id))) return;
      claimed = true;
      await this.promote();
    } catch (error) {
      shared.reportFailure(error);
      // Taken but not loaded, and no longer followed: the client comes back and its resume takes
      // the session, rather than wait here on nothing while no other process may take it.
      if (claimed && !session.promoted) {
        await this.release();
        if (shared.following(session.id) === this)
          session.closeConnection(CloseCode.TryAgainLater, 'session store unavailable: try again shortly');
      }
    } finally {
      this.checking = false;
    }
  }

  /** This process writes the session now: the rest of the log, then the state, then what the client sent meanwhile. */
  private async promote(): Promise<void> {
    const { shared, session } = this;
    const sessionId = session.id;
    this.stop();
    const meta = await shared.records.readMeta(sessionId);
    // The client left meanwhile, or the session expired: let go of what was just taken.
    if (shared.following(sessionId) !== this || !meta) return this.release();
    const range = await shared.records.framesAfter(sessionId, session.followedSeq);
    for (const frame of 'frames' in range ? range.frames : []) session.deliver(frame.seq, frame.text);
    const loaded = await shared.records.load(sessionId, meta, session.followedSeq);
    // The client left while it loaded: else this process would own, and no one write, the session.
    if (shared.following(sessionId) !== this) {
      loaded.persistence.ended?.();
      return this.release();
    }
    shared.follows.delete(sessionId);
    session.promote(
      shared.makeWriter(
        { sessionId, resumeToken: session.resumeToken, principal: session.principal },
        loaded.persistence,
      ),
    );
    loaded.endInterrupted?.((message) => session.send(message));
    session.handleHeld();
    shared.writing(sessionId);
    if (shared.holds(session) && !session.attached && !session.busy) shared.release(session);
  }

  /** Gives up the ownership this follower took for a takeover it does not go on with. */
  private async release(): Promise<void> {
    // A server that stops drops its lease: the others may take the session at once.
    const { shared } = this;
    if (!shared.closed) await shared.coordination.release(this.session.id).catch(shared.reportFailure);
  }
}

/** Another process writes the session: replay from the log and follow it. */
export async function follow(
  shared: SharedProcess,
  sessionId: string,
  resumeToken: string,
  meta: SharedMeta,
  lastSeq: number,
  share: boolean,
): Promise<ClaimResult> {
  // Its writer closes the client's old connection, if it still has one (not when this one joins it).
  if (!share) await shared.coordination.publish({ t: 'takeover', s: sessionId, by: shared.processId });
  const range = await shared.records.framesAfter(sessionId, lastSeq);
  if ('gap' in range) return { outcome: 'resume_gap', oldestHeld: range.gap.oldestHeld };
  const session = shared.makers.makeFollower({
    sessionId,
    resumeToken,
    principal: meta.principal,
    startSeq: Math.max(lastSeq, range.frames[range.frames.length - 1]?.seq ?? 0),
    forward: ({ message, key, connection }) =>
      void shared.coordination
        .publish({
          t: 'control',
          s: sessionId,
          m: message,
          from: shared.processId,
          k: key,
          ...(connection === undefined ? {} : { c: connection }),
        })
        .catch(shared.reportFailure),
    // However it is let go of (released, deleted, taken over, the store closing), its follow stops.
    ended: () => {
      const following = shared.follows.get(sessionId);
      if (following?.session !== session) return;
      following.stop();
      shared.follows.delete(sessionId);
    },
  });
  const following = new Following(shared, session);
  shared.follows.set(sessionId, following);
  shared.sessions.hold(session);
  following.follow();
  return { outcome: 'resumed', session, replay: range.frames.map((frame) => frame.text) };
}
