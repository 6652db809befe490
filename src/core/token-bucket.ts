/** A rate limit: `ratePerSecond` on average, with bursts of up to `burst`. */
export interface RateLimit {
  readonly ratePerSecond: number;
  readonly burst: number;
}

/** A token bucket: `take()` spends one token and says whether there was one. */
export interface TokenBucket {
  take(): boolean;
  /** How long until the next token, in ms (0 when one is there now). */
  msUntilToken(): number;
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
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  msUntilToken(): number {
    this.refill();
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) * 1000) / this.limit.ratePerSecond);
  }

  private refill(): void {
    const time = this.now();
    this.tokens = Math.min(
      this.limit.burst,
      this.tokens + ((time - this.refilledAt) / 1000) * this.limit.ratePerSecond,
    );
    this.refilledAt = time;
  }
}

/** A token bucket for `limit`, full to begin with. */
export function createTokenBucket(limit: RateLimit, now: () => number = Date.now): TokenBucket {
  return new LazyTokenBucket(limit, now);
}
