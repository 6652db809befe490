/**
 * Sessions shared by every server process on one Redis. Each session has one writer at a time,
 * the process whose name is in its `owner` key: it runs the replies and numbers the stream. A
 * client that resumes on another process makes that process a follower (./follower.ts) until
 * the writer lets go or dies. A process holds a session in memory only while a client is
 * connected to it or its reply runs. The parts: ./server-process.ts (shared state, letting go),
 * ./claims.ts (resumes and pushes), ./writer.ts (adopting a session), ./follower.ts,
 * ./leases.ts (liveness and outages), and this file, the store port's face and the bus.
 */
import type {
  ClaimResult,
  ConversationCatalog,
  Forwarder,
  Session,
  SessionDirectory,
  SessionStoreContext,
  RecordsHealth,
  StoreHealth,
} from '../../core/ports';
import type { ServerMessageInput } from '../../protocol/codecs';
import { CloseCode } from '../../protocol/codes';
import { type BusMessage, decodeBusMessage } from './bus';
import { claimNow, pushTo } from './claims';
import { type Leases, startLeases } from './leases';
import { hashToken } from './redis-data';
import { ServerProcess, type RedisDirectoryOptions } from './server-process';
import { RedisPersistence } from './redis-persistence';
import { dropDeleted, redisConversations } from './conversations';

export type { RedisDirectoryOptions };

class RedisSessionDirectory implements SessionDirectory {
  private readonly node: ServerProcess;
  private readonly leases: Leases;
  readonly conversations: ConversationCatalog;

  constructor(context: SessionStoreContext, options: RedisDirectoryOptions) {
    this.node = new ServerProcess(context, options);
    this.leases = startLeases(this.node, (text) => this.onBus(text));
    this.conversations = redisConversations(this.node, (sessionId, resumeToken, lastSeq, principal) =>
      this.claim(sessionId, resumeToken, lastSeq, { principal, share: true }),
    );
  }

  /** `ok` once both commands and the bus work again: a process not yet subscribed after an outage would miss takeovers. */
  health(): StoreHealth {
    return this.node.available() && this.leases.listening ? 'ok' : 'unavailable';
  }

  /** The records under Redis (PostgreSQL), if any: Redis may answer while they do not. */
  recordsHealth(): RecordsHealth | undefined {
    const { records } = this.node;
    return records ? { kind: records.kind, status: records.health?.() ?? 'ok' } : undefined;
  }

  /** Resolves once Redis first answers, or after `connectTimeoutMs` (the server then starts without it). */
  ready(): Promise<void> {
    return this.leases.ready();
  }

  create(principal: unknown): Session {
    const { node } = this;
    const { sessionId, resumeToken } = node.context.newIdentity();
    const tokenHash = hashToken(resumeToken);
    const now = Date.now();
    // The record is written with the session's first message: one that only answered controls leaves none.
    const records = node.recordsFor(
      sessionId,
      { tokenHash, principal, createdAt: now, updatedAt: now },
      { lastSeq: 0, history: [], requestIds: [] },
    );
    const writer = new RedisPersistence(node, sessionId, tokenHash, principal, 0, [], [], undefined, records);
    const session = node.context.makeSession({ sessionId, resumeToken, principal, persistence: writer });
    node.holdAsWriter(session, writer, now);
    if (node.available()) {
      Promise.all([
        node.data.writeMeta(sessionId, writer.tokenHash, principal),
        node.data.claim(sessionId, '', node.nodeId),
      ]).catch((error: unknown) => node.reportFailure(error));
    }
    // Without Redis the session still greets its client; the leases write it once Redis is back.
    return session;
  }

  claim(
    sessionId: string,
    resumeToken: string,
    lastSeq: number,
    options?: { readonly share?: boolean; readonly principal?: unknown },
  ): Promise<ClaimResult> {
    // One claim per session at a time on this process: two quick reconnects must not both load it.
    return this.node.context.sessions.oneAtATime(sessionId, () =>
      claimNow(this.node, sessionId, resumeToken, lastSeq, {
        share: options?.share === true,
        principal: options?.principal,
      }),
    );
  }

  end(session: Session): void {
    const held = this.node.held.get(session.id);
    if (held?.session !== session) return this.node.context.sessions.drop(session);
    if (session.lastSeq === 0 && !session.busy && held.writer) return this.node.end(session);
    this.node.release(held);
  }

  detached(session: Session): void {
    const held = this.node.held.get(session.id);
    if (held?.session !== session) return;
    if (held.follower) return this.node.release(held);
    // A running reply goes on into the log; the session is released when it ends.
    if (session.busy) return;
    if (session.lastSeq === 0) return this.node.end(session);
    this.node.release(held);
  }

  push(sessionId: string, message: ServerMessageInput): Promise<boolean> {
    return pushTo(this.node, sessionId, message);
  }

  async broadcastToOthers(message: ServerMessageInput, excludeSessionId?: string): Promise<void> {
    const { node } = this;
    // Without Redis the other processes cannot be told; this process's sessions got it regardless.
    await node
      .publish({
        t: 'broadcast',
        from: node.nodeId,
        m: message,
        ...(excludeSessionId === undefined ? {} : { x: excludeSessionId }),
      })
      .catch((error: unknown) => node.reportFailure(error));
  }

  async close(): Promise<void> {
    const { node } = this;
    if (node.closed) return;
    node.closed = true;
    this.leases.stop();
    const releases: Promise<void>[] = [];
    for (const held of [...node.held.values()]) {
      node.unhold(held.session);
      // A reply cut by the stop stays marked busy: whoever resumes it tells the client it was interrupted.
      if (held.writer && node.available()) releases.push(node.releaseOwnership(held.session.id));
    }
    if (node.available()) releases.push(node.data.dropLease(node.nodeId));
    await Promise.allSettled(releases);
    try {
      await node.options.closeConnections();
    } finally {
      // Writes what the records batched (the frames of a reply cut by the stop too) and lets go of them.
      await node.records?.close();
    }
  }

  /** What another process said: takeovers, controls and pushes for sessions held here, releases, broadcasts. */
  private onBus(text: string): void {
    const { node } = this;
    const message = decodeBusMessage(text);
    if (!message || node.closed) return;
    const held = 's' in message ? node.held.get(message.s) : undefined;
    switch (message.t) {
      case 'takeover':
        // The session was resumed on process `by`: its connection here, if any, closes.
        if (!held || message.by === node.nodeId) return;
        held.session.closeConnection(CloseCode.SessionTakenOver, 'the session was resumed on another connection');
        // A follower has nothing to hand over; a writer lets go once its connection is gone and its reply ended.
        if (held.follower) node.release(held);
        return;
      case 'control': {
        const { s, m, from } = message;
        // A frame of an older process names no sender: it is handled, neither confirmed nor answered.
        const frame = from === undefined ? { message: m } : { message: m, key: message.k, connection: message.c };
        node.context.sessions.takeForwarded(s, frame, forwarder(node, s, from));
        return;
      }
      case 'took':
        if (message.to === node.nodeId) held?.follower?.session.took(message.k);
        return;
      case 'answer':
        if (message.to === node.nodeId) held?.follower?.session.answered(message.c, message.m);
        return;
      case 'send':
        if (message.to !== node.nodeId) return;
        if (held) return held.session.send(message.m);
        // Let go of since the sender looked: write it from Redis.
        pushTo(node, message.s, message.m).catch((error: unknown) => node.reportFailure(error));
        return;
      case 'released':
        if (held?.follower) void held.follower.checkWriter();
        return;
      case 'deleted':
        if (held) dropDeleted(node, held.session);
        return;
      case 'broadcast':
        if (message.from !== node.nodeId) node.context.sessions.broadcast(message.m, message.x);
        return;
    }
  }
}

/** Process `from`, which forwarded a frame of session `s`: it is told over the bus (see `LocalSessions.takeForwarded`). */
function forwarder(node: ServerProcess, s: string, from: string | undefined): Forwarder {
  const publish = (message: BusMessage): void =>
    void node.publish(message).catch((error: unknown) => node.reportFailure(error));
  return {
    took: (k) => {
      if (from !== undefined) publish({ t: 'took', s, to: from, k });
    },
    answer: (c, m) => {
      if (from !== undefined) publish({ t: 'answer', s, to: from, c, m });
    },
  };
}

/** Opens a Redis-backed session directory on the given connections. */
export function createRedisSessionDirectory(
  context: SessionStoreContext,
  options: RedisDirectoryOptions,
): SessionDirectory {
  return new RedisSessionDirectory(context, options);
}
