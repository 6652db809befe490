import { TestScheduler } from 'rxjs/testing';
import { idleTimeout } from '../../src/operators/idle-timeout';

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
