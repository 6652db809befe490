/**
 * Sessions shared by every server process on one Redis. Each session has one writer at a time,
 * the process whose name is in its `owner` key: it runs the replies and numbers the stream. A
 * client that resumes on another process makes that process a follower: it replays the log,
 * reads new entries as the writer appends them (XREAD BLOCK), forwards abort/pause/resume to the
 * writer, and becomes the writer itself once the writer lets go (its reply ended) or its lease
 * runs out (it died: the unfinished reply is marked failed). A process holds a session in
 * memory only while a client is connected to it or its reply runs.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Subscription } from 'rxjs';
import type { ControlMessage, ServerMessageInput, UserMessage } from '../../protocol/codecs';
import { CloseCode } from '../../protocol/codes';
import { secretsEqual } from '../../server/auth';
import type { ClaimResult } from '../../server/connection';
import type { Session } from '../../server/session';
import { newSessionIdentity, sendToEach } from '../memory-store';
import type { SessionDirectory, SessionStoreContext, StoreHealth } from '../types';
import { type BusMessage, decodeBusMessage, encodeBusMessage } from './bus';
import { followLog } from './follow-log';
import { hashToken, type LoggedFrame, RedisSessionData, type StoredMeta } from './redis-data';
import { type PersistenceHost, RedisPersistence } from './redis-persistence';

/** The connections and settings a Redis directory runs on. */
export interface RedisDirectoryOptions {
  /** Commands (never blocked). */
  readonly redis: Redis;
  /** Pub/sub: a connection of its own. */
  readonly subscriber: Redis;
  /** A new connection for each log this process follows (XREAD BLOCK holds it). */
  readonly newConnection: () => Redis;
  readonly prefix: string;
  readonly leaseMs: number;
  /** Longest a follow's XREAD blocks, in ms. */
  readonly followBlockMs: number;
  /** How often to PING Redis, in ms, so a hang is noticed even when nothing else is sent. */
  readonly probeIntervalMs: number;
  /** Longest `ready()` waits for Redis, in ms. */
  readonly connectTimeoutMs: number;
  /** Closes the connections (those the directory made) once the sessions are let go. */
  readonly closeConnections: () => Promise<void>;
}

/** A session this process follows: another process writes it. */
interface Following {
  readonly subscription: Subscription;
  /** What the client asked of the session meanwhile (all but abort/pause/resume), for when this process writes it. */
  readonly queued: Array<{ readonly handle: UserMessage | ControlMessage } | { readonly send: ServerMessageInput }>;
  checking: boolean;
}

interface Held {
  readonly session: Session;
  /** Set while this process writes the session. */
  readonly writer?: RedisPersistence;
  /** Set while another process writes it. */
  readonly following?: Following;
}

/** The frames read from the log after `lastSeq`, then the session's own frames after those. */
function logThenLocal(frames: readonly LoggedFrame[], session: Session, lastSeq: number): string[] {
  const local = session.replaySince(Math.max(lastSeq, frames[frames.length - 1]?.seq ?? 0));
  return [...frames.map((frame) => frame.text), ...('frames' in local ? local.frames : [])];
}

/** Frames queued by a follower before it gives up on the writer and drops them. */
const MAX_QUEUED_WHILE_FOLLOWING = 256;
/** Tries at taking a session whose owner keeps changing, before the resume fails (the client retries). */
const CLAIM_ATTEMPTS = 3;
/** Controls that reach the reply where it runs; other client messages wait for this process to write. */
const FORWARDED_CONTROLS = new Set(['abort', 'pause', 'resume']);

class RedisSessionDirectory implements SessionDirectory, PersistenceHost {
  readonly data: RedisSessionData;
  private readonly nodeId = randomUUID();
  private readonly held = new Map<string, Held>();
  /** Claims under way on this process, by session: one at a time per session. */
  private readonly claims = new Map<string, Promise<unknown>>();
  /** Sessions let go of while Redis was away: their owner key still names this process until released. */
  private readonly unreleased = new Set<string>();
  /** When each written session's keys last had their TTL renewed. */
  private readonly touchedAt = new Map<string, number>();
  private readonly renewal: ReturnType<typeof setInterval>;
  private readonly probe: ReturnType<typeof setInterval>;
  private readonly readyOnce: Promise<void>;
  private everReady = false;
  /** Whether this process hears the other processes now (subscribed on the bus). */
  private listening = false;
  private outageReported = false;
  private closed = false;

  constructor(
    private readonly context: SessionStoreContext,
    private readonly options: RedisDirectoryOptions,
  ) {
    this.data = new RedisSessionData(options.redis, options.prefix, context.ttlMs, context.replayMaxMessages);
    const { redis, subscriber } = options;
    redis.on('error', (error: unknown) => this.reportFailure(error));
    // Replies cannot go on without their log: they end now, not at their next chunk.
    redis.on('close', () => this.failRunningReplies());
    subscriber.on('error', (error: unknown) => this.reportFailure(error));
    subscriber.on('message', (_channel: string, text: string) => this.onBus(text));
    subscriber.on('close', () => (this.listening = false));
    // Without an offline queue, a subscribe before the connection is up fails: subscribe once it is.
    const subscribed = new Promise<void>((resolve) => {
      const subscribe = (): void => {
        subscriber.subscribe(this.data.busChannel).then(
          () => {
            this.listening = true;
            resolve();
          },
          (error: unknown) => this.reportFailure(error),
        );
      };
      // On every (re)connect: a SUBSCRIBE that failed is tried again; a repeated one is harmless.
      if (subscriber.status === 'ready') subscribe();
      subscriber.on('ready', subscribe);
    });
    const connected = new Promise<void>((resolve) => {
      const onReady = (): void => {
        this.outageReported = false;
        if (this.everReady) void this.reassert();
        this.everReady = true;
        void this.renew();
        resolve();
      };
      if (redis.status === 'ready') onReady();
      redis.on('ready', onReady);
    });
    this.readyOnce = Promise.all([subscribed, connected]).then(() => undefined);
    this.renewal = setInterval(() => void this.renew(), Math.max(50, Math.floor(options.leaseMs / 3)));
    this.renewal.unref();
    // A hung Redis keeps its connections open: only an unanswered command tells (the deadline then drops the connection).
    this.probe = setInterval(() => {
      if (this.available()) redis.ping().catch((error: unknown) => this.reportFailure(error));
    }, options.probeIntervalMs);
    this.probe.unref();
  }

  get size(): number {
    return this.held.size;
  }

  all(): IterableIterator<Session> {
    return [...this.held.values()].map((held) => held.session)[Symbol.iterator]();
  }

  /** `ok` once both commands and the bus work again: a process not yet subscribed after an outage would miss takeovers. */
  health(): StoreHealth {
    return this.available() && this.listening ? 'ok' : 'unavailable';
  }

  available(): boolean {
    return this.options.redis.status === 'ready';
  }

  /** Resolves once Redis first answers, or after `connectTimeoutMs` (the server then starts without it). */
  async ready(): Promise<void> {
    const timeoutMs = this.options.connectTimeoutMs;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.context.logger.warn(`Redis did not answer within ${timeoutMs} ms; sessions are refused (store_unavailable) until it does`);
        resolve();
      }, timeoutMs);
    });
    await Promise.race([this.readyOnce, late]);
    clearTimeout(timer);
  }

  // ---- SessionRegistry: what connections do ------------------------------------------------

  create(principal: unknown): Session {
    const { sessionId, resumeToken } = newSessionIdentity();
    const writer = new RedisPersistence(this, sessionId, hashToken(resumeToken), principal, 0, [], []);
    const session = this.context.makeSession({ sessionId, resumeToken, principal, persistence: writer });
    this.held.set(sessionId, { session, writer });
    this.touchedAt.set(sessionId, Date.now());
    if (this.available()) {
      Promise.all([this.data.writeMeta(sessionId, writer.tokenHash, principal), this.data.claim(sessionId, '', this.nodeId)]).catch(
        (error: unknown) => this.reportFailure(error),
      );
    }
    // Without Redis the session still greets its client; `reassert` writes it once Redis is back.
    return session;
  }

  claim(sessionId: string, resumeToken: string, lastSeq: number): Promise<ClaimResult> {
    // One claim per session at a time on this process: two quick reconnects must not both load it.
    const previous = this.claims.get(sessionId) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => this.claimNow(sessionId, resumeToken, lastSeq));
    this.claims.set(sessionId, next);
    void next.catch(() => undefined).finally(() => {
      if (this.claims.get(sessionId) === next) this.claims.delete(sessionId);
    });
    return next;
  }

  discard(session: Session): void {
    const held = this.held.get(session.id);
    if (held?.session !== session) return session.dispose();
    if (session.lastSeq === 0 && !session.busy && held.writer) return this.forget(session);
    this.letGo(held);
  }

  attached(): void {
    // Nothing to do: the TTLs of held sessions are renewed by the renewal loop.
  }

  detached(session: Session): void {
    const held = this.held.get(session.id);
    if (held?.session !== session) return;
    if (held.following) return this.letGo(held);
    // A running reply goes on into the log; the session is let go when it ends.
    if (session.busy) return;
    if (session.lastSeq === 0) return this.forget(session);
    this.letGo(held);
  }

  resumed(session: Session): void {
    this.context.onResumed?.(session);
  }

  // ---- Server-side pushes --------------------------------------------------------------------

  async sendTo(sessionId: string, message: ServerMessageInput): Promise<boolean> {
    for (let attempt = 0; attempt < CLAIM_ATTEMPTS; attempt++) {
      const held = this.held.get(sessionId);
      if (held) {
        held.session.send(message);
        return true;
      }
      const meta = await this.data.readMeta(sessionId);
      if (!meta) return false;
      const owner = await this.data.owner(sessionId);
      if (owner.alive && owner.id !== this.nodeId) {
        await this.publish({ t: 'send', s: sessionId, to: owner.id, m: message });
        return true;
      }
      if (!(await this.data.claim(sessionId, owner.id, this.nodeId))) continue;
      // Nobody holds it: this process writes the message into its log, then lets go.
      const session = await this.adopt(sessionId, '', meta);
      session.send(message);
      if (!session.attached && !session.busy) this.letGo(this.held.get(sessionId) as Held);
      return true;
    }
    throw new Error(`session ${sessionId} changed hands ${CLAIM_ATTEMPTS} times while a message was sent to it`);
  }

  async broadcast(message: ServerMessageInput, excludeSessionId?: string): Promise<number> {
    const sent = this.broadcastHere(message, excludeSessionId);
    // Without Redis the other processes cannot be told; this process's sessions got it regardless.
    await this.publish({ t: 'broadcast', from: this.nodeId, m: message, ...(excludeSessionId === undefined ? {} : { x: excludeSessionId }) }).catch(
      (error: unknown) => this.reportFailure(error),
    );
    return sent;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.renewal);
    clearInterval(this.probe);
    const releases: Promise<void>[] = [];
    for (const held of [...this.held.values()]) {
      held.following?.subscription.unsubscribe();
      held.session.dispose();
      this.held.delete(held.session.id);
      // A reply cut by the stop stays marked busy: whoever resumes it tells the client it was interrupted.
      if (held.writer && this.available()) releases.push(this.release(held.session.id));
    }
    if (this.available()) releases.push(this.data.dropLease(this.nodeId));
    await Promise.allSettled(releases);
    await this.options.closeConnections();
  }

  // ---- PersistenceHost -------------------------------------------------------------------------

  writeFailed(sessionId: string, error: unknown): void {
    this.reportFailure(error);
    this.held.get(sessionId)?.session.storeFailed();
  }

  replyEnded(sessionId: string): void {
    const held = this.held.get(sessionId);
    if (held && !held.session.attached) this.letGo(held);
  }

  touchDue(sessionId: string): boolean {
    const now = Date.now();
    if (now - (this.touchedAt.get(sessionId) ?? 0) < this.context.ttlMs / 4) return false;
    this.touchedAt.set(sessionId, now);
    return true;
  }

  // ---- Claims ----------------------------------------------------------------------------------

  private async claimNow(sessionId: string, resumeToken: string, lastSeq: number): Promise<ClaimResult> {
    const local = this.held.get(sessionId);
    if (local) {
      if (!secretsEqual(local.session.resumeToken, resumeToken)) return { outcome: 'forbidden' };
      const replay = local.session.replaySince(lastSeq);
      if (!('gap' in replay)) return { outcome: 'resumed', session: local.session, replay: replay.frames };
      // A follower holds only what came after it began following; the log in Redis holds the rest.
      if (!local.following) return { outcome: 'resume_gap', oldestHeld: replay.gap.oldestHeld };
      return this.replayFromLog(local.session, lastSeq);
    }
    const meta = await this.data.readMeta(sessionId);
    if (!meta) return { outcome: 'session_lost' };
    if (!secretsEqual(meta.tokenHash, hashToken(resumeToken))) return { outcome: 'forbidden' };
    for (let attempt = 0; attempt < CLAIM_ATTEMPTS; attempt++) {
      const owner = await this.data.owner(sessionId);
      if (owner.alive && owner.id !== this.nodeId) return this.follow(sessionId, resumeToken, meta, lastSeq);
      if (!(await this.data.claim(sessionId, owner.id, this.nodeId))) continue;
      const range = await this.data.framesAfter(sessionId, lastSeq);
      if ('gap' in range) {
        await this.data.release(sessionId, this.nodeId);
        return { outcome: 'resume_gap', oldestHeld: range.gap.oldestHeld };
      }
      const session = await this.adopt(sessionId, resumeToken, meta, lastSeq);
      // Messages the adoption itself wrote (an interrupted reply's error) come after the log's.
      return { outcome: 'resumed', session, replay: logThenLocal(range.frames, session, lastSeq) };
    }
    throw new Error(`session ${sessionId} changed hands ${CLAIM_ATTEMPTS} times during a resume`);
  }

  /** The frames after `lastSeq` from Redis, then those this process appended since that read. */
  private async replayFromLog(session: Session, lastSeq: number): Promise<ClaimResult> {
    const range = await this.data.framesAfter(session.id, lastSeq);
    if ('gap' in range) return { outcome: 'resume_gap', oldestHeld: range.gap.oldestHeld };
    // Nothing is delivered between the read's answer and this line (no I/O callback runs between).
    return { outcome: 'resumed', session, replay: logThenLocal(range.frames, session, lastSeq) };
  }

  /**
   * Makes this process the writer of a session it has just claimed in Redis: loads its history
   * and seq, and fails the reply its previous writer left unfinished.
   */
  private async adopt(sessionId: string, resumeToken: string, meta: StoredMeta, clientSeq = 0): Promise<Session> {
    // A client ahead of the log (Redis lost entries) must not see seqs it already has reused.
    const writer = await this.loadWriter(sessionId, meta, clientSeq);
    const session = this.context.makeSession({ sessionId, resumeToken, principal: meta.principal, persistence: writer });
    this.holdAsWriter(session, writer, meta.busy);
    return session;
  }

  /** This process now writes `session`; a reply its previous writer left running (`busy`) is failed. */
  private holdAsWriter(session: Session, writer: RedisPersistence, busy: string | undefined): void {
    this.held.set(session.id, { session, writer });
    this.unreleased.delete(session.id);
    this.touchedAt.set(session.id, 0);
    if (busy !== undefined) this.failInterrupted(session, busy);
  }

  /** What this process needs to write a session: its history, answered ids and seq (at least `atLeastSeq`). */
  private async loadWriter(sessionId: string, meta: StoredMeta, atLeastSeq: number): Promise<RedisPersistence> {
    const [history, requestIds, storedSeq] = await Promise.all([
      this.data.readHistory(sessionId),
      this.data.requestIds(sessionId),
      this.data.lastSeq(sessionId),
    ]);
    return new RedisPersistence(this, sessionId, meta.tokenHash, meta.principal, Math.max(storedSeq, atLeastSeq), history, requestIds);
  }

  /** The previous writer died mid-reply: the client hears so, and the session is idle again. */
  private failInterrupted(session: Session, requestId: string): void {
    session.send({
      type: 'error',
      data: { code: 'reply_interrupted', message: 'the server process running this reply went away before it finished: send the message again', retryable: true, requestId },
    });
    session.send({ type: 'status', data: { status: 'idle', requestId } });
    this.data.setBusy(session.id, undefined).catch((error: unknown) => this.reportFailure(error));
  }

  /** Another process writes the session: replay from the log and follow it. */
  private async follow(sessionId: string, resumeToken: string, meta: StoredMeta, lastSeq: number): Promise<ClaimResult> {
    // Its writer closes the client's old connection, if it still has one.
    await this.publish({ t: 'takeover', s: sessionId, by: this.nodeId });
    const range = await this.data.framesAfter(sessionId, lastSeq);
    if ('gap' in range) return { outcome: 'resume_gap', oldestHeld: range.gap.oldestHeld };
    const startSeq = Math.max(lastSeq, range.frames[range.frames.length - 1]?.seq ?? 0);
    const queued: Following['queued'] = [];
    const enqueue = (item: Following['queued'][number]): void => {
      if (queued.length < MAX_QUEUED_WHILE_FOLLOWING) queued.push(item);
      else this.context.logger.warn({ sessionId }, 'too many messages while another process writes this session; one was dropped');
    };
    const session = this.context.makeSession({
      sessionId,
      resumeToken,
      principal: meta.principal,
      startSeq,
      remoteWriter: {
        handle: (message) => {
          if (message.type === 'control' && FORWARDED_CONTROLS.has(message.data.type)) {
            void this.publish({ t: 'control', s: sessionId, m: message }).catch(() => undefined);
          } else {
            enqueue({ handle: message });
          }
        },
        send: (message) => enqueue({ send: message }),
      },
    });
    const following: Following = { subscription: this.followLogOf(session, startSeq), queued, checking: false };
    this.held.set(sessionId, { session, following });
    return { outcome: 'resumed', session, replay: range.frames.map((frame) => frame.text) };
  }

  private followLogOf(session: Session, afterSeq: number): Subscription {
    const connection = this.options.newConnection();
    connection.on('error', () => undefined); // reported through the main connection; the follow is retried
    return followLog({
      connection,
      key: this.data.key(session.id, 'log'),
      afterSeq,
      blockMs: this.options.followBlockMs,
      unblock: (clientId) => this.options.redis.client('UNBLOCK', clientId).catch(() => undefined),
    }).subscribe({
      next: (frames) => {
        for (const frame of frames) session.deliver(frame.seq, frame.text);
        if (frames.length === 0) void this.checkWriter(session.id);
      },
      error: (error: unknown) => {
        this.reportFailure(error);
        // Redis went away under the follow: the client reconnects and resumes once it is back.
        const held = this.held.get(session.id);
        if (held?.session === session) session.closeConnection(CloseCode.TryAgainLater, 'session store unavailable: try again shortly');
      },
    });
  }

  /** A follower checks that the writer still holds the session; once it does not, this process takes over. */
  private async checkWriter(sessionId: string): Promise<void> {
    const held = this.held.get(sessionId);
    const following = held?.following;
    if (!held || !following || following.checking) return;
    following.checking = true;
    try {
      const owner = await this.data.owner(sessionId);
      if (owner.alive && owner.id !== this.nodeId) return;
      if (!(await this.data.claim(sessionId, owner.id, this.nodeId))) return;
      await this.promote(held, following);
    } catch (error) {
      this.reportFailure(error);
    } finally {
      following.checking = false;
    }
  }

  /** The follower becomes the writer: the rest of the log, then the state, then what the client asked meanwhile. */
  private async promote(held: Held, following: Following): Promise<void> {
    const { session } = held;
    following.subscription.unsubscribe();
    const meta = await this.data.readMeta(session.id);
    if (this.held.get(session.id) !== held || !meta) {
      // The client left meanwhile, or the session expired: let go of what was just taken.
      await this.data.release(session.id, this.nodeId);
      return;
    }
    const range = await this.data.framesAfter(session.id, session.lastSeq);
    for (const frame of 'frames' in range ? range.frames : []) session.deliver(frame.seq, frame.text);
    const writer = await this.loadWriter(session.id, meta, session.lastSeq);
    session.own(writer);
    this.holdAsWriter(session, writer, meta.busy);
    for (const item of following.queued) {
      if ('handle' in item) session.handle(item.handle);
      else session.send(item.send);
    }
    if (!session.attached && !session.busy) this.letGo(this.held.get(session.id) as Held);
  }

  // ---- Letting go ----------------------------------------------------------------------------

  /** This process is done with a session it holds: another may take it at once. */
  private letGo(held: Held): void {
    const { session } = held;
    this.held.delete(session.id);
    this.touchedAt.delete(session.id);
    held.following?.subscription.unsubscribe();
    session.dispose();
    if (!held.writer) return;
    this.release(session.id).catch((error: unknown) => {
      // Else a process following it would wait on this one (whose lease runs on) until the session expires.
      this.unreleased.add(session.id);
      this.reportFailure(error);
    });
  }

  private async release(sessionId: string): Promise<void> {
    await this.data.touch([sessionId]);
    await this.data.release(sessionId, this.nodeId);
    await this.publish({ t: 'released', s: sessionId });
  }

  /** A session that never said anything: nothing to resume, so nothing is kept. */
  private forget(session: Session): void {
    this.held.delete(session.id);
    this.touchedAt.delete(session.id);
    session.dispose();
    if (this.available()) this.data.remove(session.id).catch((error: unknown) => this.reportFailure(error));
  }

  // ---- Between processes -------------------------------------------------------------------------

  private async publish(message: BusMessage): Promise<void> {
    await this.options.redis.publish(this.data.busChannel, encodeBusMessage(message));
  }

  private onBus(text: string): void {
    const message = decodeBusMessage(text);
    if (!message || this.closed) return;
    switch (message.t) {
      case 'takeover':
        return this.takenOver(message.s, message.by);
      case 'control': {
        const held = this.held.get(message.s);
        if (held?.writer) held.session.handle(message.m);
        return;
      }
      case 'send': {
        if (message.to !== this.nodeId) return;
        const held = this.held.get(message.s);
        if (held) return held.session.send(message.m);
        // Let go of since the sender looked: write it from Redis.
        this.sendTo(message.s, message.m).catch((error: unknown) => this.reportFailure(error));
        return;
      }
      case 'released':
        if (this.held.get(message.s)?.following) void this.checkWriter(message.s);
        return;
      case 'broadcast':
        if (message.from !== this.nodeId) this.broadcastHere(message.m, message.x);
        return;
    }
  }

  /** The session was resumed on process `by`: its connection here, if any, closes. */
  private takenOver(sessionId: string, by: string): void {
    const held = this.held.get(sessionId);
    if (!held || by === this.nodeId) return;
    held.session.closeConnection(CloseCode.SessionTakenOver, 'the session was resumed on another connection');
    // A follower has nothing to hand over; a writer lets go once its connection is gone and its reply ended.
    if (held.following) this.letGo(held);
  }

  private broadcastHere(message: ServerMessageInput, excludeSessionId: string | undefined): number {
    return sendToEach(this.all(), message, excludeSessionId);
  }

  // ---- Liveness and outages ------------------------------------------------------------------------

  /** Renews this process's lease, and the TTLs of the sessions it holds that are due. */
  private async renew(): Promise<void> {
    if (!this.available() || this.closed) return;
    try {
      await this.data.renewLease(this.nodeId, this.options.leaseMs);
      const due = [...this.held.keys()].filter((id) => this.touchDue(id));
      await this.data.touch(due);
    } catch (error) {
      this.reportFailure(error);
    }
  }

  /**
   * Redis is back after an outage (perhaps restarted empty): writes again what this process's
   * sessions need there. A session another process took meanwhile is given up here.
   */
  private async reassert(): Promise<void> {
    try {
      await this.data.renewLease(this.nodeId, this.options.leaseMs);
      for (const sessionId of [...this.unreleased]) {
        if (!this.held.has(sessionId)) await this.release(sessionId);
        this.unreleased.delete(sessionId);
      }
      for (const held of [...this.held.values()]) {
        const { session, writer } = held;
        if (!writer) continue;
        const owner = await this.data.owner(session.id);
        if ((owner.alive && owner.id !== this.nodeId) || !(await this.data.claim(session.id, owner.id, this.nodeId))) {
          session.closeConnection(CloseCode.SessionTakenOver, 'the session was resumed on another connection');
          this.held.delete(session.id);
          session.dispose();
          continue;
        }
        await this.data.writeMeta(session.id, writer.tokenHash, writer.principal, writer.busy);
        await this.data.writeHistory(session.id, session.conversation.messages());
        await this.data.markReached(session.id, session.lastSeq);
        await this.data.touch([session.id]);
      }
      this.context.logger.info('Redis is back; the sessions of this process are stored again');
    } catch (error) {
      this.reportFailure(error);
    }
  }

  private failRunningReplies(): void {
    if (this.closed) return;
    for (const { session, writer } of this.held.values()) if (writer && session.busy) session.storeFailed();
  }

  private reportFailure(error: unknown): void {
    if (this.outageReported || this.closed) return;
    this.outageReported = true;
    this.context.logger.warn({ err: error }, 'the Redis session store failed; new requests get store_unavailable until it is back');
  }
}

/** Opens a Redis-backed session directory on the given connections. */
export function createRedisSessionDirectory(context: SessionStoreContext, options: RedisDirectoryOptions): SessionDirectory {
  return new RedisSessionDirectory(context, options);
}
