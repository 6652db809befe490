/**
 * This server process as the Redis store sees it (not a Redis node: those are `node-watch.ts`'s):
 * its id on the bus and in the `owner` keys, the Redis data, the sessions it holds (as writer or
 * as follower), and the one verb per step of ending its hold of one: `release` (stop holding,
 * give up ownership: another process may take it), `end` (the session is over: its keys go),
 * `unhold` (forget the object, telling no one: the store is closing or lost the session).
 */
import { randomUUID } from 'node:crypto';
import type { FollowerSession, Session, SessionMeta, SessionRecords, SessionStoreContext } from '../../core/ports';
import type { HistoryMessage, Usage } from '../../protocol/codecs';
import { RecordsPersistence, type RecordsHost } from '../records/records-persistence';
import { type BusMessage, encodeBusMessage } from './bus';
import type { StoreConnection } from './connect';
import type { RedisFollow } from './follower';
import { RedisSessionData } from './redis-data';
import type { RedisPersistence } from './redis-persistence';

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

/**
 * A session this process holds: it writes it (`writer`), or follows the stream another process
 * writes (`follower`; the session the connection sees is the core's follower-mode session, which
 * turns into a writer in place when promoted).
 */
export type Held =
  | { readonly session: Session; readonly writer: RedisPersistence; readonly follower?: undefined }
  | { readonly session: FollowerSession; readonly follower: RedisFollow; readonly writer?: undefined };

/** This server process in the Redis store: shared by the store's parts. */
export class ServerProcess {
  readonly nodeId = randomUUID();
  readonly data: RedisSessionData;
  /** The sessions held by this process, by id, with how this process holds each (the core's `sessions` hold the objects). */
  readonly held = new Map<string, Held>();
  /** Sessions released while Redis was away: their owner key still names this process until released (see leases.ts). */
  readonly unreleased = new Set<string>();
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

  /** This process writes `session` from now on (its keys' TTL is renewed at the next renewal). */
  holdAsWriter(session: Session, writer: RedisPersistence, touched = 0): void {
    this.held.set(session.id, { session, writer });
    this.context.sessions.hold(session);
    this.unreleased.delete(session.id);
    this.touchedAt.set(session.id, touched);
  }

  /** Whether the session's keys should have their TTL renewed (then marks them renewed). */
  touchDue(sessionId: string): boolean {
    const now = Date.now();
    if (now - (this.touchedAt.get(sessionId) ?? 0) < this.context.ttlMs / 4) return false;
    this.touchedAt.set(sessionId, now);
    return true;
  }

  /** A written session's reply ended: with no client connected, this process releases it. */
  replyEnded(sessionId: string): void {
    const held = this.held.get(sessionId);
    if (held && !held.session.attached) this.release(held);
  }

  /** This process is done with a session it holds: another may take it at once. */
  release(held: Held): void {
    const { session } = held;
    this.unhold(session);
    if (!held.writer) return;
    this.releaseOwnership(session.id).catch((error: unknown) => {
      // Else a process following it would wait on this one (whose lease runs on) until the session expires.
      this.unreleased.add(session.id);
      this.reportFailure(error);
    });
  }

  /** A session that never said anything: nothing to resume, so nothing is kept. */
  end(session: Session): void {
    this.unhold(session);
    if (this.available()) this.data.remove(session.id).catch((error: unknown) => this.reportFailure(error));
  }

  /** Forgets and ends a held session object, telling no one. */
  unhold(session: Session): void {
    const held = this.held.get(session.id);
    if (held?.session === session) held.follower?.stop();
    this.held.delete(session.id);
    this.touchedAt.delete(session.id);
    this.context.sessions.drop(session);
  }

  /** Gives up the session's ownership in Redis, so a follower (or anyone) may take it. */
  async releaseOwnership(sessionId: string): Promise<void> {
    await this.data.touch([sessionId]);
    await this.data.release(sessionId, this.nodeId);
    await this.publish({ t: 'released', s: sessionId });
  }
}
