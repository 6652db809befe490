import { Observable } from 'rxjs';

/**
 * What `pick` makes of each value of `source`, leaving out `undefined`: `filter` and `map` in
 * one, for the client's streams. By hand, as rxjs's operators share a subscriber class that is
 * the last of rxjs's operator machinery in a minimal app's bundle (the lean client uses none).
 */
export function select<T, R>(source: Observable<T>, pick: (value: T) => R | undefined): Observable<R> {
  return new Observable<R>((subscriber) =>
    source.subscribe({
      next: (value) => {
        const picked = pick(value);
        if (picked !== undefined) subscriber.next(picked);
      },
      error: (error: unknown) => subscriber.error(error),
      complete: () => subscriber.complete(),
    }),
  );
}
