import { defer, type Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { ServerError } from '../../src/errors';
import { backoffDelay, retryWithBackoff } from '../../src/operators/retry-with-backoff';

const newScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
const exact = { initialDelayMs: 10, maxDelayMs: 40, jitter: 0 };

describe('backoffDelay', () => {
  it.each<[number, number, number, number]>([
    // attempt, jitter, random, delay
    [1, 0, 0.7, 10],
    [2, 0, 0.7, 20],
    [3, 0, 0.7, 40],
    [4, 0, 0.7, 40], // capped
    [9, 0, 0.7, 40],
    [3, 1, 0, 40], // full jitter: anywhere from the capped delay...
    [3, 1, 0.75, 10], // ...down to 0
    [5, 1, 0.5, 20], // jitter applies after the cap
    [2, 0.5, 1, 10], // half jitter: between half and all of it
  ])('retry %d with jitter %d and random %d waits %d ms', (attempt, jitter, random, expected) => {
    expect(backoffDelay(attempt, { ...exact, jitter }, random)).toBe(expected);
  });
});

describe('retryWithBackoff', () => {
  it('retries on the exponential schedule, capped', () => {
    const retries: number[] = [];
    newScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('--#');
      const result = source.pipe(
        retryWithBackoff({ ...exact, maxAttempts: 4, onRetry: ({ delayMs }) => retries.push(delayMs) }),
      );
      // fail at 2; wait 10 -> resubscribe at 12, fail at 14; wait 20 -> 34, fail 36; wait 40 -> 76, fail 78; wait 40 -> 118, fail 120
      expectObservable(result).toBe('120ms #');
      expectSubscriptions(source.subscriptions).toBe(['^-!', '12ms ^-!', '34ms ^-!', '76ms ^-!', '118ms ^-!']);
    });
    expect(retries).toEqual([10, 20, 40, 40]);
  });

  it('gives up after maxAttempts with the error giveUp makes', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      const result = cold('#', {}, new Error('refused')).pipe(
        retryWithBackoff({
          ...exact,
          maxAttempts: 2,
          giveUp: (attempts, last) => new Error(`gave up after ${attempts} attempts: ${(last as Error).message}`),
        }),
      );
      expectObservable(result).toBe('30ms #', {}, new Error('gave up after 2 attempts: refused'));
    });
  });

  it('starts counting again after the source emits (a connection that worked)', () => {
    const delays: number[] = [];
    newScheduler().run(({ cold, expectObservable }) => {
      // Fails, then emits and fails, then fails, then works. Without the reset the third retry
      // would be past maxAttempts; with it, the delays restart at 10 ms.
      const outcomes = [cold('#'), cold('a#'), cold('#'), cold('(b|)')];
      const result = defer(() => outcomes.shift() as Observable<string>).pipe(
        retryWithBackoff({ ...exact, maxAttempts: 2, onRetry: ({ delayMs }) => delays.push(delayMs) }),
      );
      expectObservable(result).toBe('10ms a 30ms (b|)');
    });
    expect(delays).toEqual([10, 10, 20]);
  });

  it('never retries with maxAttempts 0', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('-#').pipe(retryWithBackoff({ ...exact, maxAttempts: 0 }))).toBe('-#');
    });
  });

  it("waits at least the error's retryAfterMs (the server's rate_limited), backing off as usual beyond it", () => {
    const delays: number[] = [];
    newScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const limited = new ServerError('rate_limited', 'slow down', { retryable: true, retryAfterMs: 25 });
      const source = cold('-#', {}, limited);
      const result = source.pipe(
        retryWithBackoff({ ...exact, maxAttempts: 3, onRetry: ({ delayMs }) => delays.push(delayMs) }),
      );
      // fail at 1; wait max(10, 25) -> 26, fail 27; wait max(20, 25) -> 52, fail 53; wait 40 -> 93, fail 94
      expectObservable(result).toBe('94ms #', {}, limited);
      expectSubscriptions(source.subscriptions).toBe(['^!', '26ms ^!', '52ms ^!', '93ms ^!']);
    });
    expect(delays).toEqual([25, 25, 40]);
  });

  it('ignores a retryAfterMs that is not a positive finite number', () => {
    const delays: number[] = [];
    newScheduler().run(({ cold, expectObservable }) => {
      const odd = Object.assign(new Error('odd'), { retryAfterMs: Number.NaN });
      const result = cold('#', {}, odd).pipe(
        retryWithBackoff({ ...exact, maxAttempts: 1, onRetry: ({ delayMs }) => delays.push(delayMs) }),
      );
      expectObservable(result).toBe('10ms #', {}, odd);
    });
    expect(delays).toEqual([10]);
  });
});
