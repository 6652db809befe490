import fc from 'fast-check';
import { ArithmeticError, evaluateArithmetic } from '../../src/tools/builtin/arithmetic';

describe('evaluateArithmetic', () => {
  it.each<[string, number]>([
    ['2+3*4', 14],
    ['(2+3)*4', 20],
    ['2^10', 1024],
    ['2**10', 1024],
    ['2^3^2', 512],
    ['-2^2', -4],
    ['2^-1', 0.5],
    ['10 / 4', 2.5],
    ['10 % 4', 2],
    ['7 - 2 - 1', 4],
    ['2 * -3', -6],
    ['--3', 3],
    ['5!', 120],
    ['0!', 1],
    ['3!^2', 36],
    ['sqrt(16) + 5!', 124],
    ['max(1, 7, 3) - min(4, 2)', 5],
    ['log(1000)', 3],
    ['log(8, 2)', 3],
    ['ln(e)', 1],
    ['round(pi * 100) / 100', 3.14],
    ['hypot(3, 4)', 5],
    ['atan2(0, 1)', 0],
    ['1e3 + .5', 1000.5],
    ['6 × 7 ÷ 2', 21],
    ['  SQRT( 9 )  ', 3],
  ])('%s = %d', (expression, expected) => {
    expect(evaluateArithmetic(expression)).toBeCloseTo(expected, 12);
  });

  it.each<[string, RegExp]>([
    ['process.exit(1)', /unknown name "process"/],
    ['constructor', /unknown name "constructor"/],
    ['__proto__', /unknown name "__proto__"/],
    ['toString(1)', /unknown name "toString"/],
    ['2 +', /unexpected end of expression/],
    ['(1 + 2', /expected "\)"/],
    ['1 + 2)', /unexpected "\)" at position 6/],
    ['1 / 0', /division by zero/],
    ['sqrt(1, 2)', /sqrt takes 1 argument, got 2/],
    ['2.5!', /factorial needs a whole number/],
    ['10^400', /not a finite number/],
    ['', /empty expression/],
    ['x'.repeat(1001), /longer than 1000/],
    ['('.repeat(150) + '1' + ')'.repeat(150), /nested deeper than 100 levels/],
    ['"1" + 1', /unexpected """/],
  ])('refuses %s', (expression, message) => {
    expect(() => evaluateArithmetic(expression)).toThrow(ArithmeticError);
    expect(() => evaluateArithmetic(expression)).toThrow(message);
  });

  it('agrees with JavaScript on random integer expressions of + - * and parentheses', () => {
    const expression = fc.letrec<{ node: string }>((tie) => ({
      node: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        fc.integer({ min: 0, max: 1000 }).map(String),
        fc.tuple(tie('node'), fc.constantFrom('+', '-', '*'), tie('node')).map(([a, op, b]) => `(${a} ${op} ${b})`),
        fc.tuple(tie('node'), fc.constantFrom('+', '-', '*'), tie('node')).map(([a, op, b]) => `${a}${op}${b}`),
      ),
    })).node;
    fc.assert(
      fc.property(expression, (text) => {
        // The reference: the same text evaluated by a tiny shunting-yard over integers.
        expect(evaluateArithmetic(text)).toBe(reference(text));
      }),
      { numRuns: 300 },
    );
  });
});

/** Integer arithmetic with + - * and parentheses, as a reference for the property test. */
function reference(text: string): number {
  const tokens = text.match(/\d+|[-+*()]/g) ?? [];
  let i = 0;
  const primary = (): number => {
    const token = tokens[i++];
    if (token === '(') {
      const value = sum();
      i++;
      return value;
    }
    if (token === '-') return -primary();
    return Number(token);
  };
  const product = (): number => {
    let value = primary();
    while (tokens[i] === '*') {
      i++;
      value *= primary();
    }
    return value;
  };
  const sum = (): number => {
    let value = product();
    while (tokens[i] === '+' || tokens[i] === '-') {
      const op = tokens[i++];
      value = op === '+' ? value + product() : value - product();
    }
    return value;
  };
  return sum() + 0; // + 0 turns -0 into 0, as the evaluator's result compares
}
