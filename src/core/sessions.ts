/**
 * This process's sessions, kept by the core for every store: the map by id, the expiry of a
 * session kept without a connection, the session budget, the resume checks and the pushes into
 * the streams held here. A store holds the session objects it makes (writer or follower mode)
 * here and lets go of them here (`SessionStoreContext.sessions`), so none of this is written
 * again per store: the store keeps records and coordination.
 */
import type { ServerMessageInput } from '../protocol/codecs';
import { createHeldBytesCounter } from '../util/held-bytes';
import { MAX_HELD_FRAMES } from './held-frames';
import { samePrincipal } from '../util/same-principal';
import { secretsEqual } from '../util/secrets-equal';
import type { FollowerSession, Forwarder, ReceivedForward } from './follower-session';
import type { ClaimResult, LocalSessions, Logger, Session, SessionBudget, StoredFrame } from './ports';

/** What {@link createLocalSessions} needs. */
export interface LocalSessionsOptions {
  /** How long a session kept without a connection outlives it, in ms. */
  readonly ttlMs: number;
  /** What the sessions held here may hold together. @default no limit */
  readonly budget?: SessionBudget;
  readonly logger?: Logger;
  /** Told when a session kept without a connection expired. */
  readonly onExpired?: (session: Session) => void;
}

/** {@link LocalSessions} with what the core alone calls. */
export interface CoreSessions extends LocalSessions {
  /** A connection took `session`: it does not expire while one is on it. */
  attached(session: Session): void;
  /**
   * Makes room for one more session within the budget, dropping the sessions kept without a
   * connection longest first. False when there is none: the new connection is refused (1013).
   */
  admit(): boolean;
  /**
   * The writer's end of following (see `FollowerInit.forward`): a client's frame a follower
   * on another process forwarded. When this process writes session `sessionId`, it confirms the
   * frame (`sender.took`, when it has a key) and handles it, answering the sending connection
   * alone through `sender.answer` (when the frame names one; else into the stream). False, and
   * nothing done, when this process does not write it (it follows it too, or does not hold it).
   */
  takeForwarded(sessionId: string, frame: ReceivedForward, sender: Forwarder): boolean;
}

class Sessions implements CoreSessions {
  private readonly sessions = new Map<string, Session>();
  private readonly expiries = new Map<string, ReturnType<typeof setTimeout>>();
  /** Sessions kept without a connection, the one detached longest ago first: the order they are dropped in. */
  private readonly detachedOrder = new Map<string, Session>();
  private readonly budget: SessionBudget;
  private readonly held = createHeldBytesCounter(() => this.sessions);
  /**
   * The keys of the forwarded frames each written session took lately, so a frame a follower
   * forwards again to a new writer (`forwardHeld`) that took it already is not handled twice.
   */
  private readonly taken = new Map<string, Set<string>>();
  /** Settlings under way, by session: the last one started (see `oneAtATime`). */
  private readonly settling = new Map<string, Promise<unknown>>();

  constructor(private readonly options: LocalSessionsOptions) {
    this.budget = options.budget ?? { maxSessions: Infinity, maxBytes: Infinity };
  }

  get size(): number {
    return this.sessions.size;
  }

  values(): IterableIterator<Session> {
    return this.sessions.values();
  }

  get(sessionId: string): Session | undefined {
    return this.sessions.get(sessionId);
  }

  hold(session: Session): void {
    this.stopExpiry(session.id);
    this.sessions.set(session.id, session);
  }

  drop(session: Session): void {
    if (this.sessions.get(session.id) === session) {
      this.stopExpiry(session.id);
      this.sessions.delete(session.id);
      this.taken.delete(session.id);
    }
    session.end();
  }

  attached(session: Session): void {
    this.stopExpiry(session.id);
  }

  keepDetached(session: Session): void {
    if (this.sessions.get(session.id) !== session) return;
    // Nothing said, nothing running: nothing to resume.
    if (session.lastSeq === 0 && !session.busy) return this.drop(session);
    this.stopExpiry(session.id);
    const timer = setTimeout(() => {
      this.options.onExpired?.(session);
      this.drop(session);
    }, this.options.ttlMs);
    timer.unref?.();
    this.expiries.set(session.id, timer);
    this.detachedOrder.set(session.id, session);
    this.makeRoom(0);
  }

  admit(): boolean {
    return this.makeRoom(1);
  }

  resume(
    session: Session,
    resumeToken: string | undefined,
    lastSeq: number,
    principal: unknown,
  ): Exclude<ClaimResult, { outcome: 'session_lost' }> {
    const refused = this.refusal(session.resumeToken, resumeToken, session.principal, principal);
    if (refused) return { outcome: refused };
    const replay = session.replaySince(lastSeq);
    if ('gap' in replay) return { outcome: 'resume_gap', oldestHeld: replay.gap.oldestHeld };
    return { outcome: 'resumed', session, replay: replay.frames };
  }

  refusal(
    secret: string,
    presented: string | undefined,
    owner: unknown,
    principal: unknown,
  ): 'forbidden' | 'other_principal' | undefined {
    // The token first: a wrong one learns nothing of whose the session is.
    if (presented !== undefined && !secretsEqual(secret, presented)) return 'forbidden';
    return samePrincipal(owner, principal) ? undefined : 'other_principal';
  }

  takeForwarded(sessionId: string, frame: ReceivedForward, sender: Forwarder): boolean {
    const session = this.sessions.get(sessionId);
    if (!session || following(session)) return false;
    // Taken: the follower that forwarded it need not hold it for a takeover any more.
    if (frame.key !== undefined) {
      sender.took(frame.key);
      if (!this.tookNow(sessionId, frame.key)) return true;
    }
    const { connection } = frame;
    session.handle(
      frame.message,
      connection === undefined ? undefined : { remote: true, answer: (message) => sender.answer(connection, message) },
    );
    return true;
  }

  /** Notes that `sessionId` took forwarded frame `key`: false when it had already. */
  private tookNow(sessionId: string, key: string): boolean {
    let keys = this.taken.get(sessionId);
    if (!keys) {
      keys = new Set();
      this.taken.set(sessionId, keys);
    }
    if (keys.has(key)) return false;
    keys.add(key);
    // A frame forwarded again was held when the new writer came: at most a follower's hold back.
    if (keys.size > 2 * MAX_HELD_FRAMES) keys.delete(keys.values().next().value as string);
    return true;
  }

  replayAfter(session: Session, stored: readonly StoredFrame[], lastSeq: number): string[] {
    const local = session.replaySince(Math.max(lastSeq, stored[stored.length - 1]?.seq ?? 0));
    return [...stored.map((frame) => frame.text), ...('frames' in local ? local.frames : [])];
  }

  oneAtATime<T>(sessionId: string, settle: () => Promise<T>): Promise<T> {
    const next = (this.settling.get(sessionId) ?? Promise.resolve()).catch(() => undefined).then(settle);
    this.settling.set(sessionId, next);
    void next
      .catch(() => undefined)
      .finally(() => {
        if (this.settling.get(sessionId) === next) this.settling.delete(sessionId);
      });
    return next;
  }

  push(sessionId: string, message: ServerMessageInput): boolean {
    const session = this.sessions.get(sessionId);
    session?.send(message);
    return session !== undefined;
  }

  broadcast(message: ServerMessageInput, excludeSessionId?: string): number {
    let sent = 0;
    for (const session of this.sessions.values()) {
      if (session.id === excludeSessionId) continue;
      session.send(message);
      sent++;
    }
    return sent;
  }

  private stopExpiry(sessionId: string): void {
    const timer = this.expiries.get(sessionId);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.expiries.delete(sessionId);
    this.detachedOrder.delete(sessionId);
  }

  /**
   * Drops sessions kept without a connection, longest detached first, until `room` more sessions
   * fit within the budget; returns whether they do. Done only when a session is created or detached.
   */
  private makeRoom(room: number): boolean {
    const { budget } = this;
    const unlimitedBytes = budget.maxBytes === Infinity;
    let bytes = unlimitedBytes ? 0 : this.held.read();
    const fits = (): boolean =>
      this.sessions.size + room <= budget.maxSessions && (unlimitedBytes || bytes <= budget.maxBytes);
    let dropped = 0;
    for (const session of this.detachedOrder.values()) {
      if (fits()) break;
      if (!unlimitedBytes) {
        bytes -= session.heldBytes;
        this.held.dropped(session.heldBytes);
      }
      this.drop(session);
      dropped++;
    }
    if (dropped > 0) {
      this.options.logger?.warn(
        { dropped, maxSessions: budget.maxSessions, maxBytes: budget.maxBytes },
        'dropped detached sessions, least recently used first: over the session budget',
      );
    }
    return fits();
  }
}

/** Whether `session` is a follower another process writes (not yet promoted). */
function following(session: Session): boolean {
  return (session as Partial<FollowerSession>).promoted === false;
}

/** The sessions of one server process (see the module's comment). */
export function createLocalSessions(options: LocalSessionsOptions): CoreSessions {
  return new Sessions(options);
}
