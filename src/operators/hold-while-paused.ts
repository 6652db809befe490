import { type MonoTypeOperatorFunction, Observable } from 'rxjs';

/**
 * Holds values while `paused$` says `true` and releases them, in order, when it says `false`.
 * The source's completion or error waits behind the held values, so nothing overtakes anything:
 * not even a value the source emits while held ones are being released (a subscriber's handling
 * may make the source emit at once). Repeated `true`s or `false`s change nothing.
 * The source itself keeps running while paused: pausing a reply must not stall the model call.
 */
export function holdWhilePaused<T>(paused$: Observable<boolean>): MonoTypeOperatorFunction<T> {
  return (source) =>
    new Observable<T>((subscriber) => {
      let paused = false;
      // Held values are held[head..]; a released slot is cleared so its value can be collected.
      let held: (T | undefined)[] = [];
      let head = 0;
      let end: { error: unknown } | 'complete' | undefined;

      const release = (): void => {
        // Re-checks `paused` on every value: a subscriber may pause again (and resume, re-entering
        // here) while we release. `head` moves before each value goes, so none goes twice.
        while (!paused && head < held.length) {
          const value = held[head] as T;
          held[head++] = undefined;
          subscriber.next(value);
        }
        if (head < held.length) return;
        held = [];
        head = 0;
        if (paused || end === undefined) return;
        if (end === 'complete') subscriber.complete();
        else subscriber.error(end.error);
      };

      const pausedSubscription = paused$.subscribe({
        next: (value) => {
          paused = value;
          if (!paused) release();
        },
        error: (error: unknown) => subscriber.error(error),
      });
      const sourceSubscription = source.subscribe({
        next: (value) => {
          if (paused || head < held.length) held.push(value);
          else subscriber.next(value);
        },
        error: (error: unknown) => {
          end = { error };
          release();
        },
        complete: () => {
          end = 'complete';
          release();
        },
      });
      return () => {
        pausedSubscription.unsubscribe();
        sourceSubscription.unsubscribe();
      };
    });
}
