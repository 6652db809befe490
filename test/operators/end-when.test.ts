import { BehaviorSubject, tap } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { endWhen } from '../../src/operators/end-when';

const newScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

describe('endWhen', () => {
  it('mirrors the source and completes with it while the notifier is silent, never calling ending', () => {
    const ending = jest.fn(() => ['z']);
    newScheduler().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const source = cold('a-b-|');
      const notifier = hot('------x');
      expectObservable(source.pipe(endWhen(notifier, ending))).toBe('a-b-|');
      expectSubscriptions(source.subscriptions).toBe('^---!');
      expectSubscriptions(notifier.subscriptions).toBe('^---!');
    });
    expect(ending).not.toHaveBeenCalled();
  });

  it('unsubscribes the source and the notifier when the notifier emits, with the ending as the last values', () => {
    newScheduler().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const source = cold('a-b-c-d-|');
      const notifier = hot('-----x-x');
      expectObservable(source.pipe(endWhen(notifier, () => ['y', 'z']))).toBe('a-b-c(yz|)');
      expectSubscriptions(source.subscriptions).toBe('^----!');
      expectSubscriptions(notifier.subscriptions).toBe('^----!');
    });
  });

  it('calls ending as the notifier emits, with the state the source left then', () => {
    newScheduler().run(({ cold, hot, expectObservable }) => {
      let seen = '';
      const source = cold('a-b-c|').pipe(tap((value) => (seen = value)));
      expectObservable(source.pipe(endWhen(hot('---x'), () => [`after ${seen}`]))).toBe('a-b(z|)', {
        a: 'a',
        b: 'b',
        z: 'after b',
      });
    });
  });

  it('never subscribes the source when the notifier has fired already', () => {
    newScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('a-|');
      expectObservable(source.pipe(endWhen(new BehaviorSubject(0), () => ['z']))).toBe('(z|)');
      expectSubscriptions(source.subscriptions).toBe([]);
    });
  });

  it("passes the source's error on, and errors with what a failing ending throws or a failing notifier", () => {
    newScheduler().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const failing = cold('a-#');
      expectObservable(failing.pipe(endWhen(hot('----x'), () => ['z']))).toBe('a-#');
      expectSubscriptions(failing.subscriptions).toBe('^-!');
      const source = cold('a---b');
      const oops = new Error('oops');
      expectObservable(
        source.pipe(
          endWhen(hot('--x'), () => {
            throw oops;
          }),
        ),
      ).toBe('a-#', undefined, oops);
      expectSubscriptions(source.subscriptions).toBe('^-!');
      const other = cold('a---b');
      expectObservable(other.pipe(endWhen(hot('-#'), () => ['z']))).toBe('a#');
      expectSubscriptions(other.subscriptions).toBe('^!');
    });
  });

  it('gives each subscription its own ending', () => {
    newScheduler().run(({ cold, hot, expectObservable }) => {
      let endings = 0;
      const ended$ = cold('a-b-c').pipe(endWhen(hot('---x'), () => [`end ${++endings}`]));
      expectObservable(ended$).toBe('a-b(y|)', { a: 'a', b: 'b', y: 'end 1' });
      expectObservable(ended$).toBe('a-b(y|)', { a: 'a', b: 'b', y: 'end 2' });
    });
  });
});
