/**
 * Attachments' bytes in Redis, shared by every process of a deployment: each one under
 * `<prefix>attachment:<ref>` (the same content-hash reference as in memory), kept for a time to
 * live renewed on each read. History and replayed frames carry only the reference, so a
 * conversation resumed on another process still has its pictures and files.
 */
import { attachmentRef } from '../memory-attachments';
import { connectorFor, quitConnection } from './connect';
import { DEFAULT_REDIS_PREFIX, type RedisStoreOptions, targetOf } from './redis-store';

/** How long an attachment is kept in Redis after it was stored or last read, unless configured (7 days). */
export const DEFAULT_REDIS_ATTACHMENT_TTL_MS = 7 * 24 * 60 * 60 * 1000;

/** Where {@link redisAttachmentStore} keeps them: the Redis of the store, named the same way. */
export interface RedisAttachmentStoreOptions extends Pick<
  RedisStoreOptions,
  'url' | 'client' | 'cluster' | 'sentinels' | 'name' | 'prefix'
> {
  /** How long an attachment is kept after it was stored or last read, in ms. @default DEFAULT_REDIS_ATTACHMENT_TTL_MS */
  readonly ttlMs?: number;
}

/** A stored value, as JSON `{ mediaType, data }`; anything else reads as gone. */
function decode(text: string | null): { mediaType: string; data: string } | undefined {
  if (text === null) return undefined;
  try {
    const value = JSON.parse(text) as { mediaType?: unknown; data?: unknown };
    if (typeof value.mediaType === 'string' && typeof value.data === 'string')
      return { mediaType: value.mediaType, data: value.data };
  } catch {
    // Not JSON: gone.
  }
  return undefined;
}

/**
 * An attachment store (the core's `AttachmentStore`, declared here by shape: stores import only
 * the core's ports) in Redis. `put` answers at once with the reference, as the port asks; the
 * write goes on in the background, and until it is done this process reads the bytes from memory.
 * `close()` waits for the writes, then ends its connection (a duplicate of `client`).
 *
 * ```ts
 * new WSServer({ store: redisStore({ url }), attachmentStore: redisAttachmentStore({ url }) });
 * ```
 */
export function redisAttachmentStore(options: RedisAttachmentStoreOptions = {}): {
  put(mediaType: string, data: string): string;
  get(ref: string): Promise<{ mediaType: string; data: string } | undefined>;
  close(): Promise<void>;
} {
  const ttlMs = options.ttlMs ?? DEFAULT_REDIS_ATTACHMENT_TTL_MS;
  if (!Number.isFinite(ttlMs) || ttlMs < 1000) throw new RangeError(`ttlMs must be at least 1000, got ${ttlMs}`);
  const redis = connectorFor(targetOf(options))({ lazyConnect: true, protocol: 2 });
  const prefix = `${options.prefix ?? DEFAULT_REDIS_PREFIX}attachment:`;
  /** Writes not yet acknowledged, with their bytes: this process's reads must not miss them. */
  const writing = new Map<string, { mediaType: string; data: string; done: Promise<void> }>();
  return {
    put(mediaType, data) {
      const ref = attachmentRef(mediaType, data);
      if (writing.has(ref)) return ref;
      const done = redis
        .set(prefix + ref, JSON.stringify({ mediaType, data }), 'PX', ttlMs)
        // Redis away: other processes will find none (the model is told it is gone); this one read it meanwhile.
        .then(
          () => undefined,
          () => undefined,
        )
        .finally(() => writing.delete(ref));
      writing.set(ref, { mediaType, data, done });
      return ref;
    },
    async get(ref) {
      const pending = writing.get(ref);
      if (pending) return { mediaType: pending.mediaType, data: pending.data };
      return decode(await redis.getex(prefix + ref, 'PX', ttlMs));
    },
    async close() {
      await Promise.race([
        Promise.all([...writing.values()].map((entry) => entry.done)),
        new Promise((resolve) => setTimeout(resolve, 2000).unref()),
      ]);
      await quitConnection(redis);
    },
  };
}
