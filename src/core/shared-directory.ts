/**
 * The sessions of a store several processes share, kept by the core over the store's
 * `Coordination` and `SharedSessionRecords` ports. Each session has one writer at a time: the
 * process that runs its replies and numbers its stream. A client that resumes on another process
 * makes that process a follower (./following.ts) until the writer lets go or dies. A process holds
 * a session only while a client is connected to it or its reply runs. The parts:
 * ./shared-process.ts (shared state, letting go), ./shared-claims.ts (resumes and pushes),
 * ./following.ts, and this file: the directory's face and what the other processes say.
 */
import type { Subscription } from 'rxjs';
import type { ServerMessageInput } from '../protocol/codecs';
import { CloseCode } from '../protocol/codes';
import type {
  ClaimResult,
  ConversationCatalog,
  CoordinationMessage,
  RecordsHealth,
  Session,
  SessionDirectory,
  SharedStoreParts,
  StoreHealth,
} from './ports';
import type { Forwarder } from './follower-session';
import { claimNow, pushTo } from './shared-claims';
import { SharedProcess, type SharedMakers } from './shared-process';

class SharedDirectory implements SessionDirectory {
  private readonly shared: SharedProcess;
  private readonly listening: Subscription;
  readonly conversations?: ConversationCatalog;

  constructor(makers: SharedMakers, parts: SharedStoreParts) {
    this.shared = new SharedProcess(makers, parts);
    this.listening = parts.coordination.messages.subscribe((message) => this.heard(message));
    const catalog = parts.conversations?.((sessionId, resumeToken, lastSeq, principal) =>
      this.claim(sessionId, resumeToken, lastSeq, { principal, share: true }),
    );
    if (catalog) this.conversations = catalog;
  }

  health(): StoreHealth {
    return this.shared.parts.health();
  }

  recordsHealth(): RecordsHealth | undefined {
    return this.shared.parts.recordsHealth?.();
  }

  unavailableNodes(): readonly string[] {
    return this.shared.parts.unavailableNodes?.() ?? [];
  }

  async ready(): Promise<void> {
    await this.shared.parts.ready?.();
  }

  create(principal: unknown): Session {
    const { shared } = this;
    const { sessionId, resumeToken } = shared.makers.newIdentity();
    const persistence = shared.records.create(sessionId, resumeToken, principal);
    const session = shared.makeWriter({ sessionId, resumeToken, principal }, persistence);
    shared.sessions.hold(session);
    return session;
  }

  claim(
    sessionId: string,
    resumeToken: string,
    lastSeq: number,
    options?: { readonly share?: boolean; readonly principal?: unknown },
  ): Promise<ClaimResult> {
    // One claim per session at a time on this process: two quick reconnects must not both load it.
    return this.shared.sessions.oneAtATime(sessionId, () =>
      claimNow(this.shared, sessionId, resumeToken, lastSeq, {
        share: options?.share === true,
        principal: options?.principal,
      }),
    );
  }

  end(session: Session): void {
    const { shared } = this;
    if (!shared.holds(session)) return shared.sessions.drop(session);
    if (session.lastSeq === 0 && !session.busy && !shared.following(session.id)) return shared.end(session);
    shared.release(session);
  }

  detached(session: Session): void {
    const { shared } = this;
    if (!shared.holds(session)) return;
    if (shared.following(session.id)) return shared.release(session);
    // A running reply goes on into the log; the session is let go of when it ends.
    if (session.busy) return;
    if (session.lastSeq === 0) return shared.end(session);
    shared.release(session);
  }

  push(sessionId: string, message: ServerMessageInput): Promise<boolean> {
    return pushTo(this.shared, sessionId, message);
  }

  async broadcastToOthers(message: ServerMessageInput, excludeSessionId?: string): Promise<void> {
    const { shared } = this;
    // Without the store the other processes cannot be told; this process's sessions got it regardless.
    await shared.coordination
      .publish({
        t: 'broadcast',
        from: shared.processId,
        m: message,
        ...(excludeSessionId === undefined ? {} : { x: excludeSessionId }),
      })
      .catch(shared.reportFailure);
  }

  async close(): Promise<void> {
    const { shared } = this;
    if (shared.closed) return;
    shared.closed = true;
    this.listening.unsubscribe();
    const releases: Promise<void>[] = [];
    for (const session of [...shared.sessions.values()]) {
      const writer = !shared.following(session.id);
      shared.sessions.drop(session);
      // A reply cut by the stop stays marked busy: whoever resumes it tells the client it was interrupted.
      if (writer && shared.parts.available()) releases.push(shared.coordination.release(session.id));
    }
    await Promise.allSettled(releases);
    await shared.parts.close();
  }

  /** What a process said (this one too): takeovers, controls and pushes for sessions held here, releases, broadcasts. */
  private heard(message: CoordinationMessage): void {
    const { shared } = this;
    if (shared.closed) return;
    const held = 's' in message ? shared.sessions.get(message.s) : undefined;
    switch (message.t) {
      case 'takeover': {
        // The session was resumed on process `by`: its connection here, if any, closes.
        if (!held || message.by === shared.processId) return;
        const follower = shared.following(held.id);
        held.closeConnection(CloseCode.SessionTakenOver, 'the session was resumed on another connection');
        // A follower has nothing to hand over; a writer lets go once its connection is gone and its reply ended.
        if (follower) shared.release(held);
        return;
      }
      case 'control': {
        const { s, m, from } = message;
        // A frame of an older process names no sender: it is handled, neither confirmed nor answered.
        const frame = from === undefined ? { message: m } : { message: m, key: message.k, connection: message.c };
        shared.sessions.takeForwarded(s, frame, forwarder(shared, s, from));
        return;
      }
      case 'took':
        if (message.to === shared.processId) shared.following(message.s)?.session.took(message.k);
        return;
      case 'answer':
        if (message.to === shared.processId) shared.following(message.s)?.session.answered(message.c, message.m);
        return;
      case 'send':
        if (message.to !== shared.processId) return;
        if (held) return held.send(message.m);
        // Let go of since the sender looked: written from the store.
        pushTo(shared, message.s, message.m).catch(shared.reportFailure);
        return;
      case 'writing':
        if (message.by !== shared.processId) shared.following(message.s)?.session.forwardHeld();
        return;
      case 'released':
        void shared.following(message.s)?.checkWriter();
        return;
      case 'deleted':
        if (!held) return;
        held.closeConnection(CloseCode.ConversationDeleted, 'the conversation was deleted');
        shared.sessions.drop(held);
        return;
      case 'broadcast':
        if (message.from !== shared.processId) shared.sessions.broadcast(message.m, message.x);
        return;
    }
  }
}

/** Process `from`, which forwarded a frame of session `s`: it is told over the bus (see `LocalSessions.takeForwarded`). */
function forwarder(shared: SharedProcess, s: string, from: string | undefined): Forwarder {
  const publish = (message: CoordinationMessage): void =>
    void shared.coordination.publish(message).catch(shared.reportFailure);
  return {
    took: (k) => {
      if (from !== undefined) publish({ t: 'took', s, to: from, k });
    },
    answer: (c, m) => {
      if (from !== undefined) publish({ t: 'answer', s, to: from, c, m });
    },
  };
}

/** The directory of a shared store's sessions on this process (see the module's comment). */
export function createSharedDirectory(makers: SharedMakers, parts: SharedStoreParts): SessionDirectory {
  return new SharedDirectory(makers, parts);
}

/** Whether a store opened as the records and coordination of a shared store (not a directory of its own). */
export function isSharedStore(opened: SessionDirectory | SharedStoreParts): opened is SharedStoreParts {
  return 'coordination' in opened;
}
