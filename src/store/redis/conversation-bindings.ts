/**
 * Conversation bindings in Redis, shared by every process of a deployment: each one a JSON
 * string under `<prefix>binding:<key>` with a time to live.
 */
import type { ConversationBinding, ConversationBindings } from '../../core/ports';
import { connectorFor, quitConnection } from './connect';
import { DEFAULT_REDIS_PREFIX, type RedisStoreOptions, targetOf } from './redis-store';

/** Where {@link redisConversationBindings} keeps them: the same Redis as the store, named the same way. */
export type RedisConversationBindingsOptions = Pick<
  RedisStoreOptions,
  'url' | 'client' | 'cluster' | 'sentinels' | 'name' | 'prefix'
>;

/** What a stored binding must look like to be used (anything else counts as none). */
function parsed(text: string | null): ConversationBinding | undefined {
  if (text === null) return undefined;
  try {
    const value = JSON.parse(text) as Partial<ConversationBinding>;
    if (
      typeof value.sessionId === 'string' &&
      typeof value.resumeToken === 'string' &&
      typeof value.fromSeq === 'number' &&
      (value.replyId === undefined || typeof value.replyId === 'string')
    )
      return value as ConversationBinding;
  } catch {
    // Not JSON: none.
  }
  return undefined;
}

/**
 * Bindings in Redis, for the protocol adapters (AI SDK, AG-UI) of several processes behind one
 * address. Give it the Redis of `redisStore` (`url`, `client`, `cluster` or `sentinels`); it makes
 * its own connection (a duplicate of `client`), which `close()` ends.
 *
 * ```ts
 * new WSServer({
 *   store: redisStore({ url }),
 *   conversationBindings: redisConversationBindings({ url }),
 * });
 * ```
 */
export function redisConversationBindings(options: RedisConversationBindingsOptions = {}): ConversationBindings {
  const redis = connectorFor(targetOf(options))({ lazyConnect: true, protocol: 2 });
  const prefix = `${options.prefix ?? DEFAULT_REDIS_PREFIX}binding:`;
  const ttl = (ttlMs: number): number => Math.max(1, Math.ceil(ttlMs));
  return {
    get: async (key) => parsed(await redis.get(prefix + key)),
    bind: async (key, binding, ttlMs) => {
      const set = await redis.set(prefix + key, JSON.stringify(binding), 'PX', ttl(ttlMs), 'NX');
      if (set === 'OK') return binding;
      return parsed(await redis.get(prefix + key)) ?? binding;
    },
    set: async (key, binding, ttlMs) => {
      await redis.set(prefix + key, JSON.stringify(binding), 'PX', ttl(ttlMs));
    },
    close: async () => {
      await quitConnection(redis);
    },
  };
}
