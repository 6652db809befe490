import { defer, type ObservableInput, Observable, type OperatorFunction } from 'rxjs';

/**
 * Emits `first`, then what `project` emits for each source value (through its `emit`: none, one
 * or several), then, once the source completes, the values of `next()` (called then): what
 * `concat(of(first), source.pipe(concatMap(project)), defer(next))` does, in one operator, with no
 * inner subscription and no array per value (this is every chunk's path). A throw from `project`
 * errors the stream and unsubscribes the source, as a throw in a `map` does; so does one from
 * `next`. Unsubscribing stops whichever runs.
 */
export function emitBetween<T, R>(
  first: R,
  project: (value: T, emit: (result: R) => void) => void,
  next: () => ObservableInput<R>,
): OperatorFunction<T, R> {
  return (source) =>
    new Observable<R>((subscriber) => {
      subscriber.next(first);
      // Unsubscribed on `first`: the source (a model call) is never started.
      if (subscriber.closed) return undefined;
      const emit = (result: R): void => subscriber.next(result);
      return source.subscribe({
        next: (value) => {
          // What rxjs's own operators do with a throwing projection: the subscriber errors, so the
          // source is unsubscribed (a throw out of a plain observer would be reported as unhandled).
          try {
            project(value, emit);
          } catch (error) {
            subscriber.error(error);
          }
        },
        error: (error: unknown) => subscriber.error(error),
        // Subscribed with the subscriber itself: no hop for what follows, and its teardown is the
        // subscriber's. Deferred, so that a throw from `next` errors the subscriber.
        complete: () => defer(next).subscribe(subscriber),
      });
    });
}
