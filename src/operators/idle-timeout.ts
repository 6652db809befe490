import { asyncScheduler, type MonoTypeOperatorFunction, Observable, type SchedulerLike } from 'rxjs';

/**
 * Errors with `makeError()` when the source has been silent for `ms` (from subscription, and
 * between values). Unlike `timeout({ each })`, which clears and sets a timer for every value,
 * it keeps one timer and re-arms it only when it fires early: streams of thousands of small
 * chunks cost one timer per `ms`, not one per chunk.
 *
 * The silence is confirmed once more after the loop has polled for input: when this process was
 * held up past `ms` (its main thread blocked), the source's values may have arrived meanwhile
 * and be waiting, unread, behind the timer.
 */
export function idleTimeout<T>(
  ms: number,
  makeError: () => unknown,
  scheduler: SchedulerLike = asyncScheduler,
): MonoTypeOperatorFunction<T> {
  return (source) =>
    new Observable<T>((subscriber) => {
      let lastActivity = scheduler.now();
      const watchdog = scheduler.schedule(
        function check(confirming) {
          const quietFor = scheduler.now() - lastActivity;
          if (quietFor < ms) this.schedule(false, ms - quietFor);
          // Not yet: input that came while this process was held up (a blocked write, a pause)
          // may still wait to be read, and a timer runs before it. A 0 ms timer runs after the
          // loop's next poll for input; still quiet then, the source was.
          else if (!confirming) this.schedule(true, 0);
          else subscriber.error(makeError());
        },
        ms,
        false,
      );
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
