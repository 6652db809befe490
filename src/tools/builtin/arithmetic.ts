/**
 * A small arithmetic evaluator for the `calculate` tool: numbers, operators with the usual
 * precedence, parentheses, powers, factorials and a fixed list of functions and constants.
 *
 * Hand-written on purpose: it sees only numbers, so model-written input can neither reach
 * JavaScript (no eval, no Function) nor allocate anything big (general math libraries build
 * matrices and units on request). It runs in time linear in the input.
 */

/** A malformed or unevaluable expression. `position` is the 0-based offset of the problem. */
export class ArithmeticError extends Error {
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(message);
    this.name = 'ArithmeticError';
  }
}

/** Longest expression accepted. */
export const MAX_EXPRESSION_LENGTH = 1000;
const MAX_NESTING = 100;

const constants: Record<string, number> = { pi: Math.PI, e: Math.E, tau: 2 * Math.PI };

type NumericFunction = { arity: number | 'variadic'; apply: (...args: number[]) => number };
const unary = (apply: (x: number) => number): NumericFunction => ({ arity: 1, apply });
const functions: Record<string, NumericFunction> = {
  sqrt: unary(Math.sqrt),
  cbrt: unary(Math.cbrt),
  abs: unary(Math.abs),
  sign: unary(Math.sign),
  floor: unary(Math.floor),
  ceil: unary(Math.ceil),
  round: unary(Math.round),
  trunc: unary(Math.trunc),
  exp: unary(Math.exp),
  ln: unary(Math.log),
  log2: unary(Math.log2),
  log10: unary(Math.log10),
  sin: unary(Math.sin),
  cos: unary(Math.cos),
  tan: unary(Math.tan),
  asin: unary(Math.asin),
  acos: unary(Math.acos),
  atan: unary(Math.atan),
  sinh: unary(Math.sinh),
  cosh: unary(Math.cosh),
  tanh: unary(Math.tanh),
  // log(x) is base 10 as on a calculator; log(x, b) takes the base.
  log: {
    arity: 'variadic',
    apply: (x = NaN, base?: number) => (base === undefined ? Math.log10(x) : Math.log(x) / Math.log(base)),
  },
  atan2: { arity: 2, apply: Math.atan2 },
  pow: { arity: 2, apply: Math.pow },
  hypot: { arity: 'variadic', apply: Math.hypot },
  min: { arity: 'variadic', apply: Math.min },
  max: { arity: 'variadic', apply: Math.max },
};

/** The names `calculate` understands, for its description. */
export const arithmeticNames = { functions: Object.keys(functions), constants: Object.keys(constants) };

const has = (table: object, key: string): boolean => Object.prototype.hasOwnProperty.call(table, key);

function factorial(n: number, position: number): number {
  if (!Number.isInteger(n) || n < 0) throw new ArithmeticError('factorial needs a whole number of 0 or more', position);
  if (n > 170) return Infinity; // 171! overflows a double; stop before looping for nothing
  let result = 1;
  for (let i = 2; i <= n; i++) result *= i;
  return result;
}

class Parser {
  private pos = 0;
  private depth = 0;

  constructor(private readonly input: string) {}

  parse(): number {
    const value = this.expression();
    this.skipSpace();
    if (this.pos < this.input.length) this.fail(`unexpected "${this.input[this.pos]}"`);
    return value;
  }

  // expression := term (('+' | '-') term)*
  private expression(): number {
    let value = this.term();
    for (;;) {
      if (this.eat('+')) value += this.term();
      else if (this.eat('-') || this.eat('−')) value -= this.term();
      else return value;
    }
  }

  // term := unary (('*' | '/' | '%') unary)*
  private term(): number {
    let value = this.unary();
    for (;;) {
      if (this.eat('*') || this.eat('×')) value *= this.unary();
      else if (this.eat('/') || this.eat('÷')) {
        const at = this.pos;
        const divisor = this.unary();
        if (divisor === 0) throw new ArithmeticError('division by zero', at);
        value /= divisor;
      } else if (this.eat('%')) value %= this.unary();
      else return value;
    }
  }

  // unary := ('-' | '+') unary | power   (so -2^2 is -(2^2), as in mathematics)
  private unary(): number {
    if (this.eat('-') || this.eat('−')) return -this.unary();
    if (this.eat('+')) return this.unary();
    return this.power();
  }

  // power := postfix ('^' unary)?   (right-associative: 2^3^2 is 2^9)
  private power(): number {
    const base = this.postfix();
    if (this.eat('^') || this.eat('**')) return base ** this.unary();
    return base;
  }

  // postfix := primary '!'*
  private postfix(): number {
    let value = this.primary();
    while (this.peek('!')) {
      value = factorial(value, this.pos);
      this.pos++;
    }
    return value;
  }

  private primary(): number {
    this.skipSpace();
    const start = this.pos;
    if (this.eat('(')) {
      const value = this.nested(() => this.expression());
      this.expect(')');
      return value;
    }
    const number = /^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/.exec(this.input.slice(this.pos));
    if (number) {
      this.pos += number[0].length;
      return Number(number[0]);
    }
    const name = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(this.input.slice(this.pos))?.[0];
    if (!name)
      this.fail(this.pos < this.input.length ? `unexpected "${this.input[this.pos]}"` : 'unexpected end of expression');
    this.pos += name.length;
    const key = name.toLowerCase();
    if (has(functions, key)) return this.call(key, functions[key] as NumericFunction, start);
    if (has(constants, key)) return constants[key] as number;
    throw new ArithmeticError(`unknown name "${name}"`, start);
  }

  private call(name: string, fn: NumericFunction, start: number): number {
    this.expect('(');
    const args = this.nested(() => {
      const list = [this.expression()];
      while (this.eat(',')) list.push(this.expression());
      return list;
    });
    this.expect(')');
    if (fn.arity !== 'variadic' && args.length !== fn.arity) {
      throw new ArithmeticError(
        `${name} takes ${fn.arity} argument${fn.arity === 1 ? '' : 's'}, got ${args.length}`,
        start,
      );
    }
    return fn.apply(...args);
  }

  private nested<T>(parse: () => T): T {
    if (++this.depth > MAX_NESTING) this.fail(`nested deeper than ${MAX_NESTING} levels`);
    const value = parse();
    this.depth--;
    return value;
  }

  private skipSpace(): void {
    while (this.pos < this.input.length && /\s/.test(this.input[this.pos] as string)) this.pos++;
  }

  private peek(token: string): boolean {
    this.skipSpace();
    return this.input.startsWith(token, this.pos);
  }

  private eat(token: string): boolean {
    if (!this.peek(token)) return false;
    this.pos += token.length;
    return true;
  }

  private expect(token: string): void {
    if (!this.eat(token)) this.fail(`expected "${token}"`);
  }

  private fail(message: string): never {
    throw new ArithmeticError(`${message} at position ${this.pos + 1}`, this.pos);
  }
}

/**
 * Evaluates an arithmetic expression: `2+3*4` is 14, `2^10` is 1024, `sqrt(16)+5!` is 124.
 * Throws {@link ArithmeticError} for anything else, including results that are not finite.
 */
export function evaluateArithmetic(expression: string): number {
  if (expression.length > MAX_EXPRESSION_LENGTH) {
    throw new ArithmeticError(`expression longer than ${MAX_EXPRESSION_LENGTH} characters`, MAX_EXPRESSION_LENGTH);
  }
  if (expression.trim() === '') throw new ArithmeticError('empty expression', 0);
  const value = new Parser(expression).parse();
  if (!Number.isFinite(value)) throw new ArithmeticError(`the result is not a finite number (${value})`, 0);
  return value === 0 ? 0 : value; // no -0 on a calculator
}
