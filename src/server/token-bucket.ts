/** A rate limit: `ratePerSecond` on average, with bursts of up to `burst`. */
export interface RateLimit {
  readonly ratePerSecond: number;
  readonly burst: number;
}

/**
 * A token bucket refilled lazily from the clock: no timer per connection. `take()` spends one
 * token and says whether there was one.
 */
export function createTokenBucket(limit: RateLimit, now: () => number = Date.now): { take(): boolean } {
  let tokens = limit.burst;
  let refilledAt = now();
  return {
    take: () => {
      const time = now();
      tokens = Math.min(limit.burst, tokens + ((time - refilledAt) / 1000) * limit.ratePerSecond);
      refilledAt = time;
      if (tokens < 1) return false;
      tokens -= 1;
      return true;
    },
  };
}
