/**
 * Conversation bindings kept in this process: enough for one server, and the default. For
 * several processes behind one address, give the adapters `redisConversationBindings(...)`.
 */
import type { ConversationBinding, ConversationBindings } from '../core/ports';

/** Bindings one process keeps at most unless configured: past it the oldest go first. */
export const DEFAULT_MAX_CONVERSATION_BINDINGS = 100_000;

/**
 * Bindings in a `Map`, each dropped once its time to live has passed (checked when read) or,
 * past `maxBindings`, the least recently written first.
 */
export function memoryConversationBindings(options: { readonly maxBindings?: number } = {}): ConversationBindings {
  const max = options.maxBindings ?? DEFAULT_MAX_CONVERSATION_BINDINGS;
  if (!Number.isInteger(max) || max < 1) throw new RangeError(`maxBindings must be 1 or more, got ${max}`);
  // Insertion order is write order (a write deletes first): the first key is the oldest.
  const held = new Map<string, { readonly binding: ConversationBinding; readonly expiresAt: number }>();
  const live = (key: string): ConversationBinding | undefined => {
    const entry = held.get(key);
    if (entry && entry.expiresAt <= Date.now()) held.delete(key);
    else return entry?.binding;
    return undefined;
  };
  const write = (key: string, binding: ConversationBinding, ttlMs: number): void => {
    held.delete(key);
    held.set(key, { binding, expiresAt: Date.now() + ttlMs });
    while (held.size > max) held.delete(held.keys().next().value as string);
  };
  return {
    get: (key) => Promise.resolve(live(key)),
    bind: (key, binding, ttlMs) => {
      const existing = live(key);
      if (!existing) write(key, binding, ttlMs);
      return Promise.resolve(existing ?? binding);
    },
    set: (key, binding, ttlMs) => Promise.resolve(write(key, binding, ttlMs)),
    close: () => Promise.resolve(),
  };
}
