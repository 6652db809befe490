/**
 * Each principal's conversations in Redis: a sorted set `<prefix>conversations:<P>` (P: SHA-256 of
 * the principal's canonical JSON) of session ids by the time each last changed. It lives in a slot
 * of its own, so it is written by commands of its own, never in a session's MULTI (Cluster). What a
 * list shows of each is in the session's meta hash (`redis-data.ts`).
 */
import { createHash } from 'node:crypto';
import { principalKey } from '../../util/same-principal';
import type { StoreConnection } from './connect';

/** A session in a principal's index. */
export interface ListedEntry {
  readonly id: string;
  readonly updatedAt: number;
}

/** The commands on the principals' conversation indexes. */
export class ConversationIndex {
  constructor(
    private readonly redis: StoreConnection,
    private readonly prefix: string,
    /** The index's TTL (the session TTL), in ms. */
    private readonly ttlMs: number,
    /** Sends a write (batched with the turn's on one Redis). */
    private readonly send: <T>(write: () => Promise<T>) => Promise<T>,
  ) {}

  /** The key of principal `principal`'s conversation index. */
  key(principal: unknown): string {
    return `${this.prefix}conversations:${createHash('sha256').update(principalKey(principal)).digest('hex')}`;
  }

  /** Files session `sessionId` in its principal's index as changed at `at` (ms). */
  async listed(principal: unknown, sessionId: string, at: number): Promise<void> {
    const key = this.key(principal);
    // The index lives as long as its newest session could.
    await this.send(() => this.redis.multi().zadd(key, at, sessionId).pexpire(key, this.ttlMs).exec());
  }

  /** Renews the TTL of these principals' indexes (an index not there stays so). */
  async renew(principals: readonly unknown[]): Promise<void> {
    const indexes = new Set(principals.map((principal) => this.key(principal)));
    await Promise.all([...indexes].map((key) => this.send(() => this.redis.pexpire(key, this.ttlMs))));
  }

  async unlisted(principal: unknown, sessionId: string): Promise<void> {
    await this.send(() => this.redis.zrem(this.key(principal), sessionId));
  }

  /**
   * Entries of a principal's index after `after` (newest first; equal times by id), at least
   * `count` of them when there are: every entry of the last time read, so no page ends in the
   * middle of equal times. `full`: there may be more after these.
   */
  async listedAfter(
    principal: unknown,
    after: { readonly updatedAt: number; readonly id: string } | undefined,
    count: number,
  ): Promise<{ readonly entries: readonly ListedEntry[]; readonly full: boolean }> {
    const key = this.key(principal);
    const pairs = (flat: string[]): ListedEntry[] => {
      const entries: ListedEntry[] = [];
      for (let i = 0; i + 1 < flat.length; i += 2)
        entries.push({ id: flat[i] as string, updatedAt: Number(flat[i + 1]) });
      return entries;
    };
    const at = (score: number): Promise<string[]> => this.redis.zrangebyscore(key, score, score, 'WITHSCORES');
    const ties = after ? pairs(await at(after.updatedAt)).filter((entry) => entry.id > after.id) : [];
    const older = pairs(
      await this.redis.zrevrangebyscore(
        key,
        after ? `(${after.updatedAt}` : '+inf',
        '-inf',
        'WITHSCORES',
        'LIMIT',
        0,
        count,
      ),
    );
    const full = older.length === count;
    const lastTime = older[older.length - 1]?.updatedAt;
    const window =
      full && lastTime !== undefined
        ? [...older.filter((entry) => entry.updatedAt !== lastTime), ...pairs(await at(lastTime))]
        : older;
    const entries = [...ties, ...window].sort((a, b) => b.updatedAt - a.updatedAt || (a.id < b.id ? -1 : 1));
    return { entries, full };
  }
}
