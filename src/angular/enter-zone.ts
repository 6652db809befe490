import type { NgZone } from '@angular/core';
import { type MonoTypeOperatorFunction, Observable } from 'rxjs';

/**
 * Delivers every notification inside Angular's zone. The client runs outside it (its heartbeat
 * and backoff timers must not keep the zone busy, or `whenStable()` would never settle), so
 * what it emits is brought back in for change detection to see. With zoneless change
 * detection `NgZone.run` just calls through.
 */
export function enterZone<T>(zone: NgZone): MonoTypeOperatorFunction<T> {
  return (source) =>
    new Observable<T>((subscriber) =>
      source.subscribe({
        next: (value) => zone.run(() => subscriber.next(value)),
        error: (error: unknown) => zone.run(() => subscriber.error(error)),
        complete: () => zone.run(() => subscriber.complete()),
      }),
    );
}
