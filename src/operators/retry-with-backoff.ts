import { type MonoTypeOperatorFunction, Observable, type SchedulerLike, type Subscription, timer } from 'rxjs';

/** Settings of {@link retryWithBackoff}. */
export interface BackoffOptions {
  /** Retries before giving up; 0 never retries. */
  readonly maxAttempts: number;
  /** Delay before the first retry, in ms; doubled for each further one. */
  readonly initialDelayMs: number;
  /** Cap on the exponential delay, in ms. */
  readonly maxDelayMs: number;
  /**
   * Share of the capped delay that is random, from 0 (exact schedule) to 1 ("full jitter": a
   * uniform pick between 0 and the capped delay). Applied after the cap, so clients dropped at
   * the same moment do not come back in lockstep even once they all reach the cap.
   */
  readonly jitter: number;
  /** The random source, from 0 (inclusive) to 1 (exclusive). @default Math.random */
  readonly random?: () => number;
  /** Whether an error is worth a retry at all. @default every error is */
  readonly shouldRetry?: (error: unknown) => boolean;
  /** Changes a computed delay, for example to honour a server's retry-after. @default none */
  readonly adjustDelay?: (delayMs: number, attempt: number) => number;
  /** Told before each retry is scheduled. */
  readonly onRetry?: (retry: { attempt: number; delayMs: number; error: unknown }) => void;
  /** Makes the error the stream fails with once the attempts are spent. @default the last error */
  readonly giveUp?: (attempts: number, lastError: unknown) => unknown;
  readonly scheduler?: SchedulerLike;
}

/** The delay before retry number `attempt` (1-based), given a random pick. Pure. */
export function backoffDelay(
  attempt: number,
  options: Pick<BackoffOptions, 'initialDelayMs' | 'maxDelayMs' | 'jitter'>,
  random: number,
): number {
  const capped = Math.min(options.maxDelayMs, options.initialDelayMs * 2 ** (attempt - 1));
  const jitter = Math.min(1, Math.max(0, options.jitter));
  return Math.round(capped * (1 - jitter * random));
}

/**
 * How long an error asks to wait before a retry, in ms: its `retryAfterMs` (a
 * `ServerError` from the server's `rate_limited`, an `UpstreamError` from a `Retry-After`),
 * when it is a finite number above 0.
 */
export function retryAfterOf(error: unknown): number | undefined {
  const value = (error as { retryAfterMs?: unknown } | null | undefined)?.retryAfterMs;
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : undefined;
}

/**
 * Resubscribes to the source after an error, waiting an exponentially growing, jittered delay
 * between attempts, and never less than the error's own `retryAfterMs` (what the server asked
 * for). The count starts again once the source emits (a connection that worked), and after
 * `maxAttempts` failed retries in a row the stream errors with `giveUp(...)`. An error
 * `shouldRetry` rejects is passed on at once.
 */
export function retryWithBackoff<T>(options: BackoffOptions): MonoTypeOperatorFunction<T> {
  const random = options.random ?? Math.random;
  // By hand rather than rxjs' retry({ delay }), which pulls innerFrom and tslib's async helpers into a browser bundle.
  return (source) =>
    new Observable<T>((subscriber) => {
      let failures = 0;
      let attempt: Subscription | undefined;
      let wait: Subscription | undefined;
      const subscribe = (): void => {
        attempt = source.subscribe({
          next: (value) => {
            failures = 0;
            subscriber.next(value);
          },
          error: (error: unknown) => {
            if (options.shouldRetry && !options.shouldRetry(error)) return subscriber.error(error);
            const retry = ++failures;
            if (retry > options.maxAttempts)
              return subscriber.error(options.giveUp ? options.giveUp(options.maxAttempts, error) : error);
            const computed = Math.max(backoffDelay(retry, options, random()), retryAfterOf(error) ?? 0);
            const delayMs = options.adjustDelay ? options.adjustDelay(computed, retry) : computed;
            options.onRetry?.({ attempt: retry, delayMs, error });
            wait = timer(delayMs, options.scheduler).subscribe(() => {
              attempt?.unsubscribe();
              subscribe();
            });
          },
          complete: () => subscriber.complete(),
        });
      };
      subscribe();
      return () => {
        wait?.unsubscribe();
        attempt?.unsubscribe();
      };
    });
}
