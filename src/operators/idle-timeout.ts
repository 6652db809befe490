import { asyncScheduler, type MonoTypeOperatorFunction, Observable, type SchedulerLike } from 'rxjs';

/**
 * Errors with `makeError()` when the source has been silent for `ms` (from subscription, and
 * between values). Unlike `timeout({ each })`, which clears and sets a timer for every value,
 * it keeps one timer and re-arms it only when it fires early: streams of thousands of small
 * chunks cost one timer per `ms`, not one per chunk.
 */
export function idleTimeout<T>(
  ms: number,
  makeError: () => unknown,
  scheduler: SchedulerLike = asyncScheduler,
): MonoTypeOperatorFunction<T> {
  return (source) =>
    new Observable<T>((subscriber) => {
      let lastActivity = scheduler.now();
      const watchdog = scheduler.schedule(function check() {
        const quietFor = scheduler.now() - lastActivity;
        if (quietFor >= ms) subscriber.error(makeError());
        else this.schedule(undefined, ms - quietFor);
      }, ms);
      const subscription = source.subscribe({
        next: (value) => {
          lastActivity = scheduler.now();
          subscriber.next(value);
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => subscriber.complete(),
      });
      return () => {
        watchdog.unsubscribe();
        subscription.unsubscribe();
      };
    });
}
