import { TestScheduler } from 'rxjs/testing';
import { idleTimeout } from '../../src/operators/idle-timeout';
import { heldUpOutcome } from '../utils/held-up-socket';

const newScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
const quiet = () => new Error('quiet');

describe('idleTimeout', () => {
  it('passes values through while they keep coming, and completes with the source', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('a-b-c-|').pipe(idleTimeout(3, quiet))).toBe('a-b-c-|');
    });
  });

  it('errors after the given silence since the last value, and unsubscribes the source', () => {
    newScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('a-b------c');
      expectObservable(source.pipe(idleTimeout(4, quiet))).toBe('a-b---#', undefined, new Error('quiet'));
      expectSubscriptions(source.subscriptions).toBe('^-----!');
    });
  });

  it('counts the wait for the first value too', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('-----a').pipe(idleTimeout(3, quiet))).toBe('---#', undefined, new Error('quiet'));
    });
  });
});

describe('idleTimeout on a real event loop', () => {
  it('reads what arrived while this thread was held up past the timeout before calling the source silent', async () => {
    expect(await heldUpOutcome({ timeoutMs: 200, busyMs: 300, send: true })).toBe('data');
  });

  it('still errors when nothing came', async () => {
    expect(await heldUpOutcome({ timeoutMs: 50, busyMs: 0, send: false })).toBe('quiet');
  });
});
