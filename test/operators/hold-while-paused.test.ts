import { BehaviorSubject, Subject } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { holdWhilePaused } from '../../src/operators/hold-while-paused';

const newScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
const flags = { p: true, r: false };

describe('holdWhilePaused', () => {
  it('passes values straight through while not paused', () => {
    newScheduler().run(({ cold, hot, expectObservable }) => {
      expectObservable(cold('a-b-c|').pipe(holdWhilePaused(hot<boolean>('r', flags)))).toBe('a-b-c|');
    });
  });

  it('holds values while paused and releases them in order on resume', () => {
    newScheduler().run(({ cold, hot, expectObservable }) => {
      const paused = hot<boolean>('-p----r--', flags);
      expectObservable(cold('a-b-c------d|').pipe(holdWhilePaused(paused))).toBe('a-----(bc)-d|');
    });
  });

  it('keeps completion behind held values', () => {
    newScheduler().run(({ cold, hot, expectObservable }) => {
      const paused = hot<boolean>('p-----r', flags);
      expectObservable(cold('-a-b|').pipe(holdWhilePaused(paused))).toBe('------(ab|)');
    });
  });

  it('keeps an error behind held values', () => {
    newScheduler().run(({ cold, hot, expectObservable }) => {
      const paused = hot<boolean>('p---r', flags);
      expectObservable(cold('-a#').pipe(holdWhilePaused(paused))).toBe('----(a#)');
    });
  });

  it('keeps the source running while paused, and unsubscribes both inputs on teardown', () => {
    newScheduler().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const source = cold('a-b-c-d-e');
      const paused = hot<boolean>('--p---', flags);
      expectObservable(source.pipe(holdWhilePaused(paused)), '^-------!').toBe('a-------');
      expectSubscriptions(source.subscriptions).toBe('^-------!');
      expectSubscriptions(paused.subscriptions).toBe('^-------!');
    });
  });

  it('treats repeated resumes and pauses as no-ops', () => {
    newScheduler().run(({ cold, hot, expectObservable }) => {
      const paused = hot<boolean>('rpp-rr', flags);
      expectObservable(cold('-a-b-----c|').pipe(holdWhilePaused(paused))).toBe('----(ab)-c|');
    });
  });

  it('drops held values on teardown while paused, and unsubscribes both inputs', () => {
    newScheduler().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const source = cold('a-b-c|');
      const paused = hot<boolean>('-p------r', flags);
      expectObservable(source.pipe(holdWhilePaused(paused)), '^----!').toBe('a----');
      expectSubscriptions(source.subscriptions).toBe('^----!');
      expectSubscriptions(paused.subscriptions).toBe('^----!');
    });
  });

  it('lets nothing overtake held values: a value the source emits during the release waits its turn', () => {
    const source = new Subject<string>();
    const paused = new BehaviorSubject(true);
    const seen: string[] = [];
    source.pipe(holdWhilePaused(paused)).subscribe((value) => {
      seen.push(value);
      // A subscriber whose handling makes the source emit at once (as a sending socket may).
      if (value === 'a') source.next('c');
    });
    source.next('a');
    source.next('b');
    paused.next(false);
    expect(seen).toEqual(['a', 'b', 'c']);
  });

  it('sends each held value once when the subscriber pauses and resumes during the release', () => {
    const source = new Subject<string>();
    const paused = new BehaviorSubject(true);
    const seen: string[] = [];
    source.pipe(holdWhilePaused(paused)).subscribe((value) => {
      seen.push(value);
      if (value === 'a') {
        paused.next(true);
        paused.next(false);
      }
    });
    for (const value of ['a', 'b', 'c']) source.next(value);
    source.complete();
    paused.next(false);
    expect(seen).toEqual(['a', 'b', 'c']);
  });
});
