import type { Duplex } from 'node:stream';

/**
 * Counts the writes (system calls) a socket makes from now on: one per `_write` or `_writev`,
 * which is what corking changes (frames of one tick or turn leave in one `_writev`).
 */
export function countWrites(socket: Duplex): () => number {
  let writes = 0;
  const internals = socket as unknown as Record<'_write' | '_writev', (...args: unknown[]) => void>;
  for (const name of ['_write', '_writev'] as const) {
    const original = internals[name].bind(socket);
    internals[name] = (...args: unknown[]) => {
      writes++;
      original(...args);
    };
  }
  return () => writes;
}
