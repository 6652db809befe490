import { map, type MonoTypeOperatorFunction, Observable, take } from 'rxjs';

/**
 * Mirrors the source until `notifier$` emits, then emits the values `ending()` returns and
 * completes, which unsubscribes the source: `concat(source.pipe(takeUntil(notifier$)), ending)`
 * with the ending taken only after the notifier. Like `takeUntil`, it hands its subscriber to the
 * source itself, so the source's values pass with no hop of their own (this is every chunk's
 * path), and a notifier that emits as it is subscribed means the source is never subscribed.
 * `ending()` is called as the notifier emits, once, and sees the state the source left at that
 * moment; a throw from it errors the stream, as does an error of the notifier. Completing or failing
 * before the notifier emits ends as the source does.
 */
export function endWhen<T>(notifier$: Observable<unknown>, ending: () => readonly T[]): MonoTypeOperatorFunction<T> {
  return (source) =>
    new Observable<T>((subscriber) => {
      // Per subscription: each subscriber hears its own notifier and gets its own ending.
      const notifier = notifier$.pipe(take(1), map(ending)).subscribe({
        next: (values) => {
          for (const value of values) subscriber.next(value);
          subscriber.complete();
        },
        error: (error: unknown) => subscriber.error(error),
      });
      if (!subscriber.closed) source.subscribe(subscriber);
      return notifier;
    });
}
