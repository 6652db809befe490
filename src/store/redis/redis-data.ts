/**
 * The Redis side of a shared session: its keys and every command on them, nothing else. The
 * logic of who writes and who follows lives in `redis-directory.ts`.
 *
 * Keys of session S (the `{S}` hash tag keeps them in one Redis Cluster slot):
 * - `<prefix>{S}:meta`    hash: `token` (SHA-256 of the resume token), `principal` (JSON), `busy`
 *                         (the request id of a running reply, while one runs), and what a
 *                         conversation list shows: `createdAt`, `title` (given by a rename),
 *                         `autoTitle` and `count` (of the active branch, written with the history),
 *                         `usage` (the usage total as JSON, after each reply that reported usage)
 * - `<prefix>{S}:history` string: the conversation history as JSON
 * - `<prefix>{S}:log`     stream: the session's messages, entry id `<seq>-0`, field `f` = the
 *                         frame; an entry with field `m` marks a seq whose frames were lost; an
 *                         entry `<seq>-1` with field `c` holds the chunks of one reply up to
 *                         message `seq` as one run (`protocol/replay-runs.ts`), written in place of
 *                         their frames (deleted then), so a long reply of small chunks takes few
 * - `<prefix>{S}:requests` list: the newest `user_message` ids answered, so a resend after a
 *                         move to another process is recognised
 * - `<prefix>{S}:owner`   string: the id of the process that writes the session's stream
 * - `<prefix>node:<N>`    string with a TTL (the lease): process N is alive while it exists
 * - `<prefix>conversations:<P>` sorted set: the ids of principal P's sessions (P: SHA-256 of its
 *                         canonical JSON) by the time each last changed; in its own slot, so
 *                         written by commands of its own, never in a session's MULTI. An id whose
 *                         session expired is dropped when a list finds its meta gone.
 * Each session key has a TTL of the session TTL, renewed while a process holds the session.
 *
 * On a Redis Cluster every command here names keys of one session only (one slot), or one lease
 * key: a MULTI, a script or a pipeline never spans slots. `touch` of several sessions is one
 * pipeline per session there.
 */
import { decodeRun, lastSeqOf, runFrames } from '../../protocol/replay-runs';
import { messageCountOf, titleOf, usageJson, usageOf } from '../records/summary';
import type { HistoryMessage, Usage } from '../../protocol/codecs';
import type { Cluster } from 'ioredis';
import type { StoreConnection } from './connect';
import { ConversationIndex } from './conversation-index';
import { OrderedWrites } from './ordered-writes';
import { TurnBatch } from './turn-batch';

/** The keys of one session. */
export type SessionKeyPart = 'meta' | 'history' | 'log' | 'requests' | 'owner';
const SESSION_KEY_PARTS: readonly SessionKeyPart[] = ['meta', 'history', 'log', 'requests', 'owner'];

/** A frame of a session's log, by seq. */
export interface LoggedFrame {
  readonly seq: number;
  readonly text: string;
}

/** A session's metadata as stored. */
export interface StoredMeta {
  readonly tokenHash: string;
  readonly principal: unknown;
  /** The request id of the reply running when the writer last said so. */
  readonly busy: string | undefined;
  /** The usage total, once a reply reported usage. */
  readonly usage?: Usage;
}

/** What a conversation list shows of a session, as its meta holds it. */
export interface SummaryFields {
  readonly principal: unknown;
  readonly createdAt: number;
  readonly title: string;
  readonly messageCount: number;
  readonly usage?: Usage;
}

/** The frames after a seq: all of them, or a gap because the oldest were trimmed or lost. */
export type LoggedRange =
  { readonly frames: readonly LoggedFrame[] } | { readonly gap: { readonly oldestHeld: number } };

export { hashToken } from '../records/token-hash';

const seqOf = (entryId: string): number => Number.parseInt(entryId, 10);

/**
 * Reads Redis entries `[id, [field, value, ...]]` as the frames after `afterSeq`, in order, each
 * once: a run (`c`) as the frames of its chunks after the newest seq read so far; loss markers
 * skipped. (A reader may see a run's frames and the run itself, between its write and the
 * deletion of its frames.)
 */
export function framesOf(entries: ReadonlyArray<[string, string[]]>, afterSeq: number): LoggedFrame[] {
  const frames: LoggedFrame[] = [];
  let upTo = afterSeq;
  for (const [id, fields] of entries) {
    const value = fields[1];
    if (value === undefined || seqOf(id) <= upTo) continue;
    if (fields[0] === 'f') {
      upTo = seqOf(id);
      frames.push({ seq: upTo, text: value });
    } else if (fields[0] === 'c') {
      const run = decodeRun(value);
      if (!run) continue;
      frames.push(...runFrames(run, upTo));
      upTo = lastSeqOf(run);
    }
  }
  return frames;
}

/** The seq a log entry begins at: its own, or a run's first chunk's. */
function firstSeqOf([id, fields]: [string, string[]]): number {
  if (fields[0] !== 'c' || fields[1] === undefined) return seqOf(id);
  return decodeRun(fields[1])?.firstSeq ?? seqOf(id);
}

/** Replaces the owner only if it is still `expected` ('' for none): how a process takes a session. */
const CLAIM_SCRIPT = `
local current = redis.call('GET', KEYS[1]) or ''
if current ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1`;

/**
 * Adds a run of chunks as entry `<last>-1` and deletes the frames `<first>-0` to `<last>-0` it
 * holds, only if the add succeeds (a run sent again after a failover, already there, deletes nothing).
 */
const COALESCE_SCRIPT = `
local added = redis.pcall('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], ARGV[3] .. '-1', 'c', ARGV[4])
if type(added) == 'table' and added.err then return 0 end
local ids = {}
for seq = tonumber(ARGV[2]), tonumber(ARGV[3]) do ids[#ids + 1] = seq .. '-0' end
redis.call('XDEL', KEYS[1], unpack(ids))
return 1`;

/** Deletes the owner only if it is `me`: a process lets go only of what is still its own. */
const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/**
 * Every command llm-ws sends about sessions, over one connection: on one Redis, commands keep
 * their order. On a cluster they may not, so there the writes of each session go in order
 * through {@link OrderedWrites}. The writes of one event-loop turn leave in one socket write
 * ({@link TurnBatch}).
 */
export class RedisSessionData {
  /** On a cluster: each session's writes in order. */
  private readonly ordered: OrderedWrites | undefined;
  private readonly turn: TurnBatch;
  /** The principals' conversation indexes. */
  readonly index: ConversationIndex;

  constructor(
    private readonly redis: StoreConnection,
    private readonly prefix: string,
    /** Session key TTL, in ms. */
    private readonly ttlMs: number,
    /** Log entries kept per session (approximately: Redis trims whole nodes). */
    private readonly maxLogEntries: number,
  ) {
    this.turn = new TurnBatch(redis);
    this.ordered = redis.isCluster ? new OrderedWrites(redis as Cluster, () => this.turn.begin()) : undefined;
    // Its keys are in slots of their own: written with the turn's writes on one Redis, at once on a cluster.
    this.index = new ConversationIndex(redis, prefix, ttlMs, (write) =>
      this.ordered ? write() : this.turn.send(write),
    );
  }

  key(sessionId: string, part: SessionKeyPart): string {
    return `${this.prefix}{${sessionId}}:${part}`;
  }

  nodeKey(nodeId: string): string {
    return `${this.prefix}node:${nodeId}`;
  }

  get busChannel(): string {
    return `${this.prefix}bus`;
  }

  /** Writes a session's metadata (a new session, or one rewritten after Redis lost it). */
  async writeMeta(sessionId: string, tokenHash: string, principal: unknown, busy?: string): Promise<void> {
    const meta = this.key(sessionId, 'meta');
    await this.inOrder(sessionId, () => {
      const pipeline = this.redis
        .multi()
        .hset(meta, 'token', tokenHash, 'principal', principalJson(principal))
        .hsetnx(meta, 'createdAt', Date.now());
      if (busy !== undefined) pipeline.hset(meta, 'busy', busy);
      return pipeline.pexpire(meta, this.ttlMs).exec();
    });
  }

  async readMeta(sessionId: string): Promise<StoredMeta | undefined> {
    const fields = await this.redis.hgetall(this.key(sessionId, 'meta'));
    if (fields.token === undefined) return undefined;
    const usage = usageOf(fields.usage);
    return {
      tokenHash: fields.token,
      principal: parsePrincipal(fields.principal),
      busy: fields.busy,
      ...(usage ? { usage } : {}),
    };
  }

  /** A reply for `requestId` starts: it is running, and the id is remembered so a resend is recognised. */
  async replyStarted(sessionId: string, requestId: string, remembered: number): Promise<void> {
    const requests = this.key(sessionId, 'requests');
    await this.inOrder(sessionId, () =>
      this.redis
        .multi()
        .hset(this.key(sessionId, 'meta'), 'busy', requestId)
        .lpush(requests, requestId)
        .ltrim(requests, 0, remembered - 1)
        .pexpire(requests, this.ttlMs)
        .exec(),
    );
  }

  /** The `user_message` ids answered lately, newest first. */
  async requestIds(sessionId: string): Promise<string[]> {
    return this.redis.lrange(this.key(sessionId, 'requests'), 0, -1);
  }

  async setBusy(sessionId: string, requestId: string | undefined): Promise<void> {
    const meta = this.key(sessionId, 'meta');
    await this.inOrder(sessionId, () =>
      requestId === undefined ? this.redis.hdel(meta, 'busy') : this.redis.hset(meta, 'busy', requestId),
    );
  }

  /** Writes the history, and the title and count a conversation list shows of it. */
  async writeHistory(sessionId: string, messages: readonly HistoryMessage[]): Promise<void> {
    await this.inOrder(sessionId, () =>
      this.redis
        .multi()
        .set(this.key(sessionId, 'history'), JSON.stringify(messages), 'PX', this.ttlMs)
        .hset(this.key(sessionId, 'meta'), 'autoTitle', titleOf(messages), 'count', messageCountOf(messages))
        .exec(),
    );
  }

  /**
   * Resolves once this process's writes of these sessions so far are done, so a read after it
   * sees them: on a cluster a session's writes queue apart from other commands (on one Redis they
   * go first on the one connection).
   */
  async settled(sessionIds: readonly string[]): Promise<void> {
    const { ordered } = this;
    if (!ordered) return;
    await Promise.allSettled(sessionIds.map((id) => ordered.run(id, () => Promise.resolve())));
  }

  /** A new resume token for the session (opened by id by its principal). */
  async setToken(sessionId: string, tokenHash: string): Promise<void> {
    await this.inOrder(sessionId, () => this.redis.hset(this.key(sessionId, 'meta'), 'token', tokenHash));
  }

  /** The conversation's usage total. */
  async setUsage(sessionId: string, usage: Usage): Promise<void> {
    await this.inOrder(sessionId, () => this.redis.hset(this.key(sessionId, 'meta'), 'usage', usageJson(usage)));
  }

  /** A title given to the conversation. */
  async setTitle(sessionId: string, title: string): Promise<void> {
    await this.inOrder(sessionId, () => this.redis.hset(this.key(sessionId, 'meta'), 'title', title));
  }

  /** What a conversation list shows of a session, from its meta (undefined once it is gone). */
  async readSummaryFields(sessionId: string): Promise<SummaryFields | undefined> {
    const [token, principal, createdAt, title, autoTitle, count, usageText] = await this.redis.hmget(
      this.key(sessionId, 'meta'),
      'token',
      'principal',
      'createdAt',
      'title',
      'autoTitle',
      'count',
      'usage',
    );
    if (token === null || token === undefined) return undefined;
    const usage = usageOf(usageText);
    return {
      principal: parsePrincipal(principal ?? undefined),
      createdAt: Number(createdAt ?? 0) || 0,
      title: title ?? autoTitle ?? '',
      messageCount: Number(count ?? 0) || 0,
      ...(usage ? { usage } : {}),
    };
  }

  async readHistory(sessionId: string): Promise<HistoryMessage[]> {
    const text = await this.redis.get(this.key(sessionId, 'history'));
    // Written only by llm-ws from validated messages; anything unreadable counts as no history.
    try {
      const parsed: unknown = text === null ? [] : JSON.parse(text);
      return Array.isArray(parsed) ? (parsed as HistoryMessage[]) : [];
    } catch {
      return [];
    }
  }

  /** Appends message `seq` to the log, trimming the oldest past the limit. Per frame: no more work than it needs. */
  append(sessionId: string, seq: number, text: string): Promise<unknown> {
    const key = this.key(sessionId, 'log');
    const args = [key, 'MAXLEN', '~', this.maxLogEntries, `${seq}-0`, 'f', text] as const;
    if (!this.ordered) return this.turn.send(() => this.redis.xadd(...args));
    return this.ordered
      .batched(sessionId, (pipeline) => pipeline.xadd(...args))
      .catch(async (error: unknown) => {
        // Sent again after a failover (the old master had applied and replicated it, then the connection broke): already there.
        if (
          error instanceof Error &&
          /equal or smaller/.test(error.message) &&
          (await this.redis.xrange(key, `${seq}-0`, `${seq}-0`)).length === 1
        )
          return;
        throw error;
      });
  }

  /**
   * Keeps messages `firstSeq` to `lastSeq`, chunks of one reply, as one run in the log (entry
   * `<lastSeq>-1`, right after the frame of `lastSeq`), and deletes their frames.
   */
  async coalesce(sessionId: string, firstSeq: number, lastSeq: number, run: string): Promise<void> {
    await this.inOrder(sessionId, () =>
      this.redis.eval(COALESCE_SCRIPT, 1, this.key(sessionId, 'log'), this.maxLogEntries, firstSeq, lastSeq, run),
    );
  }

  /**
   * Marks `seq` as reached in the log without a frame, so the next writer goes on after it even
   * though Redis lost the frames (a restart without persistence). Fails harmlessly if the log
   * already holds `seq` or later.
   */
  async markReached(sessionId: string, seq: number): Promise<void> {
    if (seq === 0) return;
    await this.inOrder(sessionId, () =>
      this.redis
        .xadd(this.key(sessionId, 'log'), 'MAXLEN', '~', this.maxLogEntries, `${seq}-0`, 'm', '1')
        .catch(() => undefined),
    );
  }

  /** The seq of the newest entry ever added to the log, even if trimmed since (0 for none). */
  async lastSeq(sessionId: string): Promise<number> {
    try {
      const info = (await this.redis.call('XINFO', 'STREAM', this.key(sessionId, 'log'))) as unknown[];
      const at = info.indexOf('last-generated-id');
      return at >= 0 ? seqOf(String(info[at + 1])) : 0;
    } catch (error) {
      if (error instanceof Error && /no such key/i.test(error.message)) return 0;
      throw error;
    }
  }

  /** The client has every message up to `seq`: the log need not keep them (an empty log keeps its newest id). */
  async acknowledged(sessionId: string, seq: number): Promise<void> {
    await this.inOrder(sessionId, () => this.redis.xtrim(this.key(sessionId, 'log'), 'MINID', `${seq + 1}-0`));
  }

  /** The frames after `afterSeq`, or a gap if the log no longer starts right after it. */
  async framesAfter(sessionId: string, afterSeq: number): Promise<LoggedRange> {
    const entries = await this.redis.xrange(this.key(sessionId, 'log'), `${afterSeq + 1}-0`, '+');
    const first = entries[0];
    if (first && firstSeqOf(first) > afterSeq + 1) return { gap: { oldestHeld: firstSeqOf(first) } };
    return { frames: framesOf(entries, afterSeq) };
  }

  /** The process that writes the session's stream ('' for none), and whether its lease still runs. */
  async owner(sessionId: string): Promise<{ readonly id: string; readonly alive: boolean }> {
    const id = (await this.redis.get(this.key(sessionId, 'owner'))) ?? '';
    return { id, alive: id !== '' && (await this.redis.exists(this.nodeKey(id))) === 1 };
  }

  /** Makes `nodeId` the owner if the stored owner is still `expected` ('' for none): a dead owner is named to be replaced. */
  async claim(sessionId: string, expected: string, nodeId: string): Promise<boolean> {
    const taken = await this.redis.eval(CLAIM_SCRIPT, 1, this.key(sessionId, 'owner'), expected, nodeId, this.ttlMs);
    return taken === 1;
  }

  async release(sessionId: string, nodeId: string): Promise<void> {
    // After the session's writes: whoever takes it next finds them all.
    await this.inOrder(sessionId, () => this.redis.eval(RELEASE_SCRIPT, 1, this.key(sessionId, 'owner'), nodeId));
  }

  /** Renews the TTL of every key of these sessions (one round trip; one per session's slot on a cluster). */
  async touch(sessionIds: readonly string[]): Promise<void> {
    if (sessionIds.length === 0) return;
    // A cluster pipeline must stay within one node: each session's keys share a slot, so one pipeline each.
    const renew = async (ids: readonly string[]): Promise<void> => {
      const pipeline = this.redis.pipeline();
      for (const id of ids) {
        for (const part of SESSION_KEY_PARTS) pipeline.pexpire(this.key(id, part), this.ttlMs);
      }
      const results = await pipeline.exec();
      // A pipeline resolves even when its commands failed: a failed renewal must be reported like any write.
      const failed = results?.find(([error]) => error);
      if (failed?.[0]) throw failed[0];
    };
    if (!this.redis.isCluster) return this.turn.send(() => renew(sessionIds));
    await Promise.all(sessionIds.map((id) => this.inOrder(id, () => renew([id]))));
  }

  /** Deletes every key of a session. */
  async remove(sessionId: string): Promise<void> {
    await this.redis.del(...SESSION_KEY_PARTS.map((part) => this.key(sessionId, part)));
  }

  /** Says process `nodeId` is alive for `leaseMs` more. */
  async renewLease(nodeId: string, leaseMs: number): Promise<void> {
    await this.redis.set(this.nodeKey(nodeId), '1', 'PX', leaseMs);
  }

  async dropLease(nodeId: string): Promise<void> {
    await this.redis.del(this.nodeKey(nodeId));
  }

  /** Runs a write of session `sessionId`: at once on one Redis, after the session's earlier writes on a cluster. */
  private inOrder<T>(sessionId: string, write: () => Promise<T>): Promise<T> {
    return this.ordered ? this.ordered.run(sessionId, write) : this.turn.send(write);
  }
}

function principalJson(principal: unknown): string {
  // A principal that is not plain data cannot cross processes: it is stored as absent.
  try {
    return JSON.stringify(principal ?? null) ?? 'null';
  } catch {
    return 'null';
  }
}

/** A stored principal (JSON; `null` and anything unreadable as absent). */
export function parsePrincipal(text: string | undefined): unknown {
  try {
    return text === undefined ? undefined : ((JSON.parse(text) as unknown) ?? undefined);
  } catch {
    return undefined;
  }
}
