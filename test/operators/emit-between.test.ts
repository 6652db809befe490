import { TestScheduler } from 'rxjs/testing';
import { emitBetween } from '../../src/operators/emit-between';

const newScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
/** Emits each letter's values: `b` makes none. */
const valuesOf = (letter: string, emit: (value: number) => void): void => {
  for (const value of ({ a: [1, 2], b: [], c: [3] } as Record<string, number[]>)[letter] ?? []) emit(value);
};

describe('emitBetween', () => {
  it('emits first, the values of each source value in order (none for an empty array), then what follows', () => {
    newScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('-a-b-c-|');
      const after = cold('-z|', { z: 9 });
      expectObservable(source.pipe(emitBetween(0, valuesOf, () => after))).toBe('f(xy)w--z|', {
        f: 0,
        x: 1,
        y: 2,
        w: 3,
        z: 9,
      });
      expectSubscriptions(source.subscriptions).toBe('^------!');
      expectSubscriptions(after.subscriptions).toBe('-------^-!');
    });
  });

  it('errors on a throwing projection and unsubscribes the source, as map does, never calling what follows', () => {
    const follows = jest.fn(() => [9]);
    const oops = new Error('oops');
    newScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('-a---c---|');
      const project = (letter: string, emit: (value: number) => void): void => {
        if (letter === 'c') throw oops;
        valuesOf(letter, emit);
      };
      expectObservable(source.pipe(emitBetween(0, project, follows))).toBe('f(xy)#', { f: 0, x: 1, y: 2 }, oops);
      expectSubscriptions(source.subscriptions).toBe('^----!');
    });
    expect(follows).not.toHaveBeenCalled();
  });

  it("passes the source's error on, and errors with what a throwing next throws", () => {
    const oops = new Error('oops');
    newScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('-a---#').pipe(emitBetween(0, valuesOf, () => [9]))).toBe('f(xy)#', { f: 0, x: 1, y: 2 });
      expectObservable(
        cold('-c|').pipe(
          emitBetween(0, valuesOf, () => {
            throw oops;
          }),
        ),
      ).toBe('fw#', { f: 0, w: 3 }, oops);
    });
  });

  it('stops the source when unsubscribed, or what follows once it runs', () => {
    newScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('-a---c-|');
      expectObservable(source.pipe(emitBetween(0, valuesOf, () => cold('z'))), '^--!').toBe('f(xy)', {
        f: 0,
        x: 1,
        y: 2,
      });
      expectSubscriptions(source.subscriptions).toBe('^--!');
      const after = cold('---z|', { z: 9 });
      expectObservable(cold('-c|').pipe(emitBetween(0, valuesOf, () => after)), '^---!').toBe('fw', { f: 0, w: 3 });
      expectSubscriptions(after.subscriptions).toBe('--^-!');
    });
  });

  it('gives each subscription its own run: what follows is made anew for each', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      let made = 0;
      const mapped$ = cold('-c|').pipe(emitBetween(0, valuesOf, () => [++made * 10]));
      expectObservable(mapped$).toBe('fw(z|)', { f: 0, w: 3, z: 10 });
      expectObservable(mapped$).toBe('fw(z|)', { f: 0, w: 3, z: 20 });
    });
  });
});
