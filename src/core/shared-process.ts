/**
 * This server process on a store several processes share, as the core's shared-session parts
 * (./shared-directory.ts, ./shared-claims.ts, ./following.ts) see it: the store's coordination
 * and records, the sessions this process holds (the core's table), the followers it drives, and
 * the one verb per step of letting go of a session: `release` (stop holding it and give up its
 * ownership: another process may take it), `end` (the session is over: the store forgets it), and
 * `LocalSessions.drop` (forget the object, telling no one: the store closes or lost the session).
 */
import type { FollowerInit, FollowerSession } from './follower-session';
import type { Following } from './following';
import type { CoreSessions } from './sessions';
import type {
  Coordination,
  Logger,
  Session,
  SessionInit,
  SessionPersistence,
  SharedSessionRecords,
  SharedStoreParts,
} from './ports';

/** What the shared-session parts make sessions with. */
export interface SharedMakers {
  readonly sessions: CoreSessions;
  readonly logger: Logger;
  makeSession(init: SessionInit): Session;
  makeFollower(init: FollowerInit): FollowerSession;
  newIdentity(): { readonly sessionId: string; readonly resumeToken: string };
}

/** The state the shared-session parts of one process share. */
export class SharedProcess {
  readonly coordination: Coordination;
  readonly records: SharedSessionRecords;
  /** The followers this process drives, by session (until promoted or let go). */
  readonly follows = new Map<string, Following>();
  /** Set once the server stops: nothing more is taken over or answered. */
  closed = false;

  constructor(
    readonly makers: SharedMakers,
    readonly parts: SharedStoreParts,
  ) {
    this.coordination = parts.coordination;
    this.records = parts.records;
  }

  get sessions(): CoreSessions {
    return this.makers.sessions;
  }

  get processId(): string {
    return this.coordination.processId;
  }

  /** Logs a failed write to the store (the store logs an outage once). */
  readonly reportFailure = (error: unknown): void => this.parts.reportFailure(error);

  /** The session this process holds under `sessionId`, if it is `session`. */
  holds(session: Session): boolean {
    return this.sessions.get(session.id) === session;
  }

  /** The follower of `sessionId` this process drives, if it holds the session as one. */
  following(sessionId: string): Following | undefined {
    const follow = this.follows.get(sessionId);
    return follow && this.sessions.get(sessionId) === follow.session ? follow : undefined;
  }

  /** A writer-mode session of this process for `persistence` (made by the store's records); the caller holds it. */
  makeWriter(init: Omit<SessionInit, 'persistence'>, persistence: SessionPersistence): Session {
    return this.makers.makeSession({ ...init, persistence: new ReleasedWhenIdle(persistence, this, init.sessionId) });
  }

  /** Tells the processes following `sessionId` that this one writes it now: they forward again what no writer confirmed. */
  writing(sessionId: string): void {
    this.coordination.publish({ t: 'writing', s: sessionId, by: this.processId }).catch(this.reportFailure);
  }

  /** A written session's reply ended: with no client connected, this process lets go of it. */
  replyEnded(sessionId: string): void {
    const session = this.sessions.get(sessionId);
    if (session && !session.attached) this.release(session);
  }

  /** This process is done with a session it holds: another may take it at once. */
  release(session: Session): void {
    const writer = this.holds(session) && !this.following(session.id);
    this.sessions.drop(session);
    if (writer && !this.closed) void this.coordination.release(session.id);
  }

  /** A session that never said anything: nothing to resume, so nothing is kept. */
  end(session: Session): void {
    this.sessions.drop(session);
    this.records.remove(session.id);
  }
}

/**
 * A writer's persistence as the store gives it, and the core's own step at each reply's end: the
 * session is let go of once its reply ended with no client connected (the client resumes it
 * anywhere). Everything else goes to the store's as it is.
 */
class ReleasedWhenIdle implements SessionPersistence {
  constructor(
    private readonly inner: SessionPersistence,
    private readonly shared: SharedProcess,
    private readonly sessionId: string,
  ) {}

  get lastSeq(): number {
    return this.inner.lastSeq;
  }
  get history(): SessionPersistence['history'] {
    return this.inner.history;
  }
  get requestIds(): SessionPersistence['requestIds'] {
    return this.inner.requestIds;
  }
  get usage(): SessionPersistence['usage'] {
    return this.inner.usage;
  }
  available(): boolean {
    return this.inner.available();
  }
  frameAppended(seq: number, text: string): void {
    this.inner.frameAppended(seq, text);
  }
  framesCoalesced(firstSeq: number, lastSeq: number, run: string): void {
    this.inner.framesCoalesced?.(firstSeq, lastSeq, run);
  }
  historyChanged(messages: Parameters<SessionPersistence['historyChanged']>[0]): void {
    this.inner.historyChanged(messages);
  }
  usageChanged(usage: Parameters<NonNullable<SessionPersistence['usageChanged']>>[0]): void {
    this.inner.usageChanged?.(usage);
  }
  replyStarted(requestId: string): void {
    this.inner.replyStarted(requestId);
  }
  replyEnded(requestId: string): void {
    this.inner.replyEnded(requestId);
    this.shared.replyEnded(this.sessionId);
  }
  acknowledged(seq: number): void {
    this.inner.acknowledged(seq);
  }
  onFailed(listener: () => void): void {
    this.inner.onFailed?.(listener);
  }
  ended(): void {
    this.inner.ended?.();
  }
}
