/**
 * Quota counters in this process's memory: the limits of one server. Several processes behind one
 * address each count apart with it; they share counts with `redisQuotaCounter`.
 */
import type { QuotaCounter, QuotaWindow } from '../core/ports';

/** How many counts between sweeps of the windows that ended (their keys then go). */
const SWEEP_EVERY = 1024;

/** One key's window: its count, and when it ends (ms since the epoch). */
interface Window {
  used: number;
  readonly endsAt: number;
}

/**
 * A {@link QuotaCounter} in memory: a window per key, opened by its first count, gone once it
 * ended (swept lazily: no timer). `now` is for tests.
 *
 * ```ts
 * new WSServer({ tokenBudget: { tokens: 200_000, periodMs: 86_400_000 }, quotaCounter: memoryQuotaCounter() });
 * ```
 */
export function memoryQuotaCounter(now: () => number = Date.now): QuotaCounter {
  const windows = new Map<string, Window>();
  let counted = 0;
  const sweep = (time: number): void => {
    for (const [key, window] of windows) if (window.endsAt <= time) windows.delete(key);
  };
  return {
    add: (key, amount, periodMs): Promise<QuotaWindow> => {
      const time = now();
      if (++counted % SWEEP_EVERY === 0) sweep(time);
      let window = windows.get(key);
      if (window && window.endsAt <= time) {
        windows.delete(key);
        window = undefined;
      }
      if (!window) {
        if (amount === 0) return Promise.resolve({ used: 0, resetInMs: periodMs });
        window = { used: 0, endsAt: time + periodMs };
        windows.set(key, window);
      }
      window.used += amount;
      return Promise.resolve({ used: window.used, resetInMs: window.endsAt - time });
    },
    close: () => {
      windows.clear();
      return Promise.resolve();
    },
  };
}
