import { limitsDescription, messageRateFlag, perPeriod, tokenBudgetFlag } from '../../src/cli/serve-limits';

describe('serve --token-budget and --message-rate values', () => {
  it.each([
    ['200000/1d', { count: 200_000, periodMs: 86_400_000 }],
    ['20/1m', { count: 20, periodMs: 60_000 }],
    ['20/m', { count: 20, periodMs: 60_000 }],
    [' 5 / 30s ', { count: 5, periodMs: 30_000 }],
    ['1000/12h', { count: 1000, periodMs: 43_200_000 }],
  ])('reads %p', (value, expected) => {
    expect(perPeriod(value)).toEqual(expected);
  });

  it.each(['', '20', '0/1m', '20/0m', '20/1w', '-1/1m', '1.5/1m', '20/1m/2'])(
    'refuses %p, saying what it takes',
    (value) => {
      expect(() => perPeriod(value)).toThrow(/expected <count>\/<period> such as 200000\/1d/);
    },
  );

  it('makes the options and the start-up line', () => {
    const tokenBudget = tokenBudgetFlag('200000/1d');
    const messageRate = messageRateFlag('20/1m');
    expect(tokenBudget).toEqual({ tokens: 200_000, periodMs: 86_400_000 });
    expect(messageRate).toEqual({ messages: 20, periodMs: 60_000 });
    expect(limitsDescription({ tokenBudget, messageRate }, false)).toBe(
      'each principal may spend 200000 tokens per 86400 s and 20 messages per 60 s, counted in this process',
    );
    expect(limitsDescription({}, true)).toBeUndefined();
  });
});
