import { type MonoTypeOperatorFunction, Observable } from 'rxjs';

/**
 * Holds values while `paused$` says `true` and releases them, in order, when it says `false`.
 * The source's completion or error waits behind the held values, so nothing overtakes anything.
 * The source itself keeps running while paused: pausing a reply must not stall the model call.
 */
export function holdWhilePaused<T>(paused$: Observable<boolean>): MonoTypeOperatorFunction<T> {
  return (source) =>
    new Observable<T>((subscriber) => {
      let paused = false;
      let held: T[] = [];
      let end: { error: unknown } | 'complete' | undefined;

      const release = (): void => {
        let i = 0;
        // Re-checks `paused` on every value: a subscriber may pause again while we release.
        while (!paused && i < held.length) subscriber.next(held[i++] as T);
        held = i === held.length ? [] : held.slice(i);
        if (paused || held.length > 0 || end === undefined) return;
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
          if (paused) held.push(value);
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
