/**
 * This server process as the Redis store sees it (not a Redis node: those are `node-watch.ts`'s):
 * its id on the bus and in the `owner` keys, the Redis data, and the sessions it writes (their
 * persistence, whose TTLs it renews and which it writes again after an outage). The core holds the
 * session objects (`context.sessions`) and decides when to let go of one.
 */
import { randomUUID } from 'node:crypto';
import type { SessionMeta, SessionRecords, SessionStoreContext } from '../../core/ports';
import type { HistoryMessage, Usage } from '../../protocol/codecs';
import { RecordsPersistence, type RecordsHost } from '../records/records-persistence';
import { type BusMessage, encodeBusMessage } from './bus';
import type { StoreConnection } from './connect';
import { RedisSessionData } from './redis-data';
import { REMEMBERED_REQUEST_IDS_IN_STORE, type RedisPersistence } from './redis-persistence';

/** The connections and settings a Redis directory runs on. */
export interface RedisDirectoryOptions {
  /** Commands (never blocked): one Redis, or a Cluster (see connect.ts). */
  readonly redis: StoreConnection;
  /** Pub/sub: a connection of its own. */
  readonly subscriber: StoreConnection;
  /** A new connection for each log this process follows (XREAD BLOCK holds it). */
  readonly newConnection: () => StoreConnection;
  readonly prefix: string;
  readonly leaseMs: number;
  /** Longest a follow's XREAD blocks, in ms. */
  readonly followBlockMs: number;
  /** How often to PING Redis, in ms, so a hang is noticed even when nothing else is sent. */
  readonly probeIntervalMs: number;
  /** Longest `ready()` waits for Redis, in ms. */
  readonly connectTimeoutMs: number;
  /** Closes the connections (those the directory made) once the sessions are released. */
  readonly closeConnections: () => Promise<void>;
  /**
   * Where sessions are kept durably (PostgreSQL...), if anywhere: every change is written through
   * to them, and a session Redis no longer has (restarted empty, expired) is loaded back from them.
   */
  readonly records?: SessionRecords;
}

/** This server process in the Redis store: shared by the store's parts. */
export class ServerProcess {
  readonly nodeId = randomUUID();
  readonly data: RedisSessionData;
  /** The persistence of each session this process writes, by id (the core holds the session objects). */
  readonly writers = new Map<string, RedisPersistence>();
  /** Sessions released while Redis was away: their owner key still names this process until released (see leases.ts). */
  readonly unreleased = new Set<string>();
  /**
   * The writers of sessions this process let go of whose writes did not all reach Redis: their
   * state is written again before the session is released (and before this process loads it again).
   */
  private readonly unwritten = new Map<string, RedisPersistence>();
  /** When each written session's keys last had their TTL renewed. */
  private readonly touchedAt = new Map<string, number>();
  private outageReported = false;
  /** Set once the store is closed: nothing more is written or reported. */
  closed = false;
  /** The durable records under Redis, if any (see {@link RedisDirectoryOptions.records}). */
  readonly records: SessionRecords | undefined;
  private readonly recordsHost: RecordsHost | undefined;
  private recordFailures = 0;

  constructor(
    readonly context: SessionStoreContext,
    readonly options: RedisDirectoryOptions,
  ) {
    this.data = new RedisSessionData(options.redis, options.prefix, context.ttlMs, context.replayMaxMessages);
    const { records } = options;
    this.records = records;
    this.recordsHost = undefined;
    if (!records) return;
    const closed = (): boolean => this.closed;
    // Without Redis nothing is taken (store_unavailable): the records see only what Redis saw.
    this.recordsHost = {
      records,
      available: () => this.available(),
      reportFailure: (error) => {
        // One line per burst, not per frame.
        if (this.recordFailures++ % 100 === 0)
          context.logger.error({ err: error, store: records.kind }, 'a session record write failed');
      },
      // What the stop tears down is not written: a reply cut by it stays busy in the records too.
      get closing() {
        return closed();
      },
    };
  }

  /**
   * The write-through to the records of session `sessionId` (none without records). `meta`: the
   * record to write with the first write, for a new session; none for one the records have.
   */
  recordsFor(
    sessionId: string,
    meta: SessionMeta | undefined,
    state: {
      readonly lastSeq: number;
      readonly history: readonly HistoryMessage[];
      readonly requestIds: readonly string[];
      readonly usage?: Usage;
    },
  ): RecordsPersistence | undefined {
    if (!this.recordsHost) return undefined;
    return new RecordsPersistence(
      this.recordsHost,
      sessionId,
      meta,
      state.lastSeq,
      state.history,
      state.requestIds,
      state.usage,
    );
  }

  /** Whether Redis takes commands now. */
  available(): boolean {
    return this.options.redis.status === 'ready';
  }

  /** Logs an outage once, until Redis is back (see {@link recovered}). */
  reportFailure(error: unknown): void {
    if (this.outageReported || this.closed) return;
    this.outageReported = true;
    this.context.logger.warn(
      { err: error },
      'the Redis session store failed; new requests get store_unavailable until it is back',
    );
  }

  /** Redis answers again: the next failure is reported. */
  recovered(): void {
    this.outageReported = false;
  }

  /** Tells the other processes (see ./bus.ts). */
  async publish(message: BusMessage): Promise<void> {
    await this.options.redis.publish(this.data.busChannel, encodeBusMessage(message));
  }

  /** This process writes the session through `writer` from now on (its keys' TTL is renewed at the next renewal). */
  writes(sessionId: string, writer: RedisPersistence, touched = 0): void {
    this.writers.set(sessionId, writer);
    this.unreleased.delete(sessionId);
    this.touchedAt.set(sessionId, touched);
  }

  /** The session's writer object ended (the core let go of it): its TTL is no longer renewed from here. */
  stoppedWriting(sessionId: string, writer: RedisPersistence): void {
    if (this.writers.get(sessionId) !== writer) return;
    this.writers.delete(sessionId);
    this.touchedAt.delete(sessionId);
    if (writer.unwritten) this.unwritten.set(sessionId, writer);
  }

  /**
   * A write of `writer` failed. One the core let go of is kept until its state is written again
   * (see {@link writeAgain}); one still held is written again with the others when Redis is back.
   */
  writesLost(sessionId: string, writer: RedisPersistence): void {
    if (this.writers.get(sessionId) !== writer) this.unwritten.set(sessionId, writer);
  }

  /**
   * Writes again the state of session `sessionId`, let go of with writes that did not all reach
   * Redis (see {@link writeState}); nothing when there is none such. Rejects when Redis does not
   * answer: the caller tries again once it is back.
   */
  async writeAgain(sessionId: string): Promise<void> {
    const writer = this.unwritten.get(sessionId);
    if (writer?.unwritten) {
      await this.writeState(sessionId, writer, { history: writer.latestHistory, lastSeq: writer.latestSeq });
      if (writer.unwritten) return;
    }
    if (this.unwritten.get(sessionId) === writer) this.unwritten.delete(sessionId);
  }

  /**
   * Writes session `sessionId`'s state as `writer` last had it (after Redis restarted empty, or
   * lost writes): what failed to reach it (the frames whose appends failed, and the replies
   * started), whether a reply runs, the history, usage and newest seq. Else the next writer would
   * load what Redis held before: a finished reply still running (told to the client as
   * interrupted, under seqs its frames already had), a history without its answer, a log
   * missing frames that a resume would skip without a gap.
   */
  async writeState(
    sessionId: string,
    writer: RedisPersistence,
    current: { readonly history: readonly HistoryMessage[]; readonly lastSeq: number },
  ): Promise<void> {
    const { data } = this;
    const state = writer.unwritten;
    for (const requestId of state?.requestIds ?? [])
      await data.replyStarted(sessionId, requestId, REMEMBERED_REQUEST_IDS_IN_STORE);
    await data.writeMeta(sessionId, writer.tokenHash, writer.principal, writer.busy);
    if (writer.busy === undefined) await data.setBusy(sessionId, undefined);
    await data.writeHistory(sessionId, current.history);
    if (writer.latestUsage) await data.setUsage(sessionId, writer.latestUsage);
    const frames = [...(state?.frames ?? [])].sort((a, b) => a.seq - b.seq);
    // In order: those Redis got after all (sent before it hung, answered after the deadline) are refused, harmlessly.
    await Promise.all(frames.map((frame) => data.append(sessionId, frame.seq, frame.text).catch(() => undefined)));
    await data.markReached(sessionId, current.lastSeq);
    await data.touch([sessionId]);
    if (state) writer.rewritten(state);
  }

  /** Forgets the unwritten state of sessions released since (Redis took their writes, in order, before the release). */
  forgetUnwritten(keep: (sessionId: string) => boolean): void {
    for (const sessionId of [...this.unwritten.keys()]) if (!keep(sessionId)) this.unwritten.delete(sessionId);
  }

  /** Whether the session's keys should have their TTL renewed (then marks them renewed). */
  touchDue(sessionId: string): boolean {
    const now = Date.now();
    if (now - (this.touchedAt.get(sessionId) ?? 0) < this.context.ttlMs / 4) return false;
    this.touchedAt.set(sessionId, now);
    return true;
  }

  /** The sessions this process holds (writes or follows) whose keys' TTL is due for renewal (then marked renewed). */
  dueForRenewal(): { readonly id: string; readonly principal: unknown }[] {
    const held = new Set<string>();
    const due = [];
    for (const session of this.context.sessions.values()) {
      held.add(session.id);
      if (this.touchDue(session.id)) due.push(session);
    }
    // A follower let go of leaves its mark behind: forgotten here, not kept for good.
    for (const id of this.touchedAt.keys()) if (!held.has(id)) this.touchedAt.delete(id);
    return due;
  }

  /** Gives up the session's ownership in Redis, so a follower (or anyone) may take it. */
  async releaseOwnership(sessionId: string): Promise<void> {
    // Not before its state is in Redis: whoever takes the session next loads it from there.
    if (this.unwritten.has(sessionId)) await this.writeAgain(sessionId);
    await this.data.touch([sessionId]);
    await this.data.release(sessionId, this.nodeId);
    await this.publish({ t: 'released', s: sessionId });
  }
}
