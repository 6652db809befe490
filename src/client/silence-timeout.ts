import { Observable, type SchedulerLike, type Subscription } from 'rxjs';
import { ConnectionClosedError } from '../errors';

/**
 * Ends a connection's frames with a {@link ConnectionClosedError}: `connect_timeout` when no
 * frame (the greeting) comes within `slackMs`, and, with heartbeats on, `heartbeat_timeout`
 * when the server is silent for `heartbeatIntervalMs + slackMs`.
 */
export function silenceTimeout<T>(
  scheduler: SchedulerLike,
  slackMs: number,
  heartbeatIntervalMs: number,
): (source: Observable<T>) => Observable<T> {
  // By hand rather than rxjs' timeout(), which pulls innerFrom and tslib's async helpers into a browser bundle.
  return (source) =>
    new Observable<T>((subscriber) => {
      let timer: Subscription | undefined;
      const arm = (ms: number, error: () => ConnectionClosedError): void => {
        timer = scheduler.schedule(() => subscriber.error(error()), ms);
      };
      arm(
        slackMs,
        () => new ConnectionClosedError('connect_timeout', `no greeting from the server within ${slackMs} ms`),
      );
      const frames = source.subscribe({
        next: (value) => {
          timer?.unsubscribe();
          subscriber.next(value);
          if (heartbeatIntervalMs > 0 && !subscriber.closed) {
            arm(
              heartbeatIntervalMs + slackMs,
              () =>
                new ConnectionClosedError(
                  'heartbeat_timeout',
                  `the server was silent for ${heartbeatIntervalMs + slackMs} ms`,
                ),
            );
          }
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => subscriber.complete(),
      });
      return () => {
        timer?.unsubscribe();
        frames.unsubscribe();
      };
    });
}
