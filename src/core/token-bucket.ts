/** A rate limit: `ratePerSecond` on average, with bursts of up to `burst`. */
export interface RateLimit {
  readonly ratePerSecond: number;
  readonly burst: number;
}

/** A token bucket: `take()` spends one token and says whether there was one. */
export interface TokenBucket {
  take(): boolean;
}

/** Refilled lazily from the clock, so there is no timer per connection; a class, so no closures either. */
class LazyTokenBucket implements TokenBucket {
  private tokens: number;
  private refilledAt: number;

  constructor(
    private readonly limit: RateLimit,
    private readonly now: () => number,
  ) {
    this.tokens = limit.burst;
    this.refilledAt = now();
  }

  take(): boolean {
    const time = this.now();
    this.tokens = Math.min(
      this.limit.burst,
      this.tokens + ((time - this.refilledAt) / 1000) * this.limit.ratePerSecond,
    );
    this.refilledAt = time;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** A token bucket for `limit`, full to begin with. */
export function createTokenBucket(limit: RateLimit, now: () => number = Date.now): TokenBucket {
  return new LazyTokenBucket(limit, now);
}
