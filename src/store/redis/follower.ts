/**
 * Following a session another process writes: a client resumed here while the writer (the
 * process that runs its reply) is elsewhere. The session object is the core's, in follower mode
 * (`context.makeFollower`); this module feeds it: the log as the writer appends to it (XREAD
 * BLOCK), the client's frames to the writer over the bus, and, once the writer lets go (its reply
 * ended, no client of its own) or its lease runs out (it died), the takeover: this process claims
 * the session, loads its state and promotes the follower to a writer-mode session.
 */
import type { Subscription } from 'rxjs';
import type { ClaimResult, FollowerSession } from '../../core/ports';
import { CloseCode } from '../../protocol/codes';
import { followLog } from './follow-log';
import type { StoredMeta } from './redis-data';
import type { ServerProcess } from './server-process';
import { endInterrupted, loadWriter } from './writer';

/** Drives the follower of one session on this process, until it is promoted or released. */
export class RedisFollow {
  private following: Subscription | undefined;
  private checking = false;

  constructor(
    private readonly node: ServerProcess,
    readonly session: FollowerSession,
  ) {}

  /** Starts reading the log after what the follower has as the writer appends to it. */
  follow(): void {
    const { node, session } = this;
    const connection = node.options.newConnection();
    connection.on('error', () => undefined); // reported through the main connection; the follow is retried
    this.following = followLog({
      connection,
      key: node.data.key(session.id, 'log'),
      afterSeq: session.followedSeq,
      blockMs: node.options.followBlockMs,
      unblock: (clientId) => node.options.redis.client('UNBLOCK', clientId).catch(() => undefined),
    }).subscribe({
      next: (frames) => {
        for (const frame of frames) session.deliver(frame.seq, frame.text);
        if (frames.length === 0) void this.checkWriter();
      },
      error: (error: unknown) => {
        node.reportFailure(error);
        // Redis went away under the follow: the client reconnects and resumes once it is back.
        if (node.held.get(session.id)?.follower === this)
          session.closeConnection(CloseCode.TryAgainLater, 'session store unavailable: try again shortly');
      },
    });
  }

  /** Stops reading the log (the follower was promoted, or released). */
  stop(): void {
    this.following?.unsubscribe();
    this.following = undefined;
  }

  /** The writer is checked: once it no longer holds the session, this process takes over. */
  async checkWriter(): Promise<void> {
    const { node, session } = this;
    if (session.promoted || this.checking || node.held.get(session.id)?.follower !== this) return;
    this.checking = true;
    try {
      const owner = await node.data.owner(session.id);
      if (owner.alive && owner.id !== node.nodeId) return;
      if (!(await node.data.claim(session.id, owner.id, node.nodeId))) return;
      await this.promote();
    } catch (error) {
      node.reportFailure(error);
    } finally {
      this.checking = false;
    }
  }

  /** This process writes the session now: the rest of the log, then the state, then what the client sent meanwhile. */
  private async promote(): Promise<void> {
    const { node, session } = this;
    const sessionId = session.id;
    this.stop();
    const meta = await node.data.readMeta(sessionId);
    if (node.held.get(sessionId)?.follower !== this || !meta) {
      // The client left meanwhile, or the session expired: release what was just taken.
      await node.data.release(sessionId, node.nodeId);
      return;
    }
    const range = await node.data.framesAfter(sessionId, session.followedSeq);
    for (const frame of 'frames' in range ? range.frames : []) session.deliver(frame.seq, frame.text);
    const loaded = await loadWriter(node, sessionId, meta, session.followedSeq);
    const { writer } = loaded;
    session.promote(
      node.context.makeSession({
        sessionId,
        resumeToken: session.resumeToken,
        principal: session.principal,
        persistence: writer,
      }),
    );
    node.holdAsWriter(session, writer);
    if (meta.busy !== undefined) endInterrupted(node, session, loaded, meta.busy);
    session.handleHeld();
    const held = node.held.get(sessionId);
    if (held && !session.attached && !session.busy) node.release(held);
  }
}

/** Another process writes the session: replay from the log and follow it. */
export async function follow(
  node: ServerProcess,
  sessionId: string,
  resumeToken: string,
  meta: StoredMeta,
  lastSeq: number,
  share = false,
): Promise<ClaimResult> {
  // Its writer closes the client's old connection, if it still has one (not when this one joins it).
  if (!share) await node.publish({ t: 'takeover', s: sessionId, by: node.nodeId });
  const range = await node.data.framesAfter(sessionId, lastSeq);
  if ('gap' in range) return { outcome: 'resume_gap', oldestHeld: range.gap.oldestHeld };
  const session = node.context.makeFollower({
    sessionId,
    resumeToken,
    principal: meta.principal,
    startSeq: Math.max(lastSeq, range.frames[range.frames.length - 1]?.seq ?? 0),
    forward: ({ message, key, connection }) =>
      void node
        .publish({
          t: 'control',
          s: sessionId,
          m: message,
          from: node.nodeId,
          k: key,
          ...(connection === undefined ? {} : { c: connection }),
        })
        .catch((error: unknown) => node.reportFailure(error)),
  });
  const follower = new RedisFollow(node, session);
  follower.follow();
  node.held.set(sessionId, { session, follower });
  node.context.sessions.hold(session);
  return { outcome: 'resumed', session, replay: range.frames.map((frame) => frame.text) };
}
