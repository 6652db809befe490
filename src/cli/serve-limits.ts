/**
 * The per-principal limits of `llm-ws serve`: `--token-budget 200000/1d` and `--message-rate 20/1m`,
 * a count per period, counted in Redis when the sessions are shared (every process spends the same
 * budget), in the process's memory otherwise.
 */
import { InvalidArgumentError } from 'commander';
import type { MessageRate, TokenBudget } from '../core/usage-limits';

/** ms of each period unit a flag may use. */
const UNIT_MS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `<count>/<n><unit>` (unit s, m, h or d; n defaults to 1), as `{ count, periodMs }`. */
export function perPeriod(value: string): { count: number; periodMs: number } {
  const match = /^\s*(\d{1,15})\s*\/\s*(\d{0,6})([smhd])\s*$/.exec(value);
  const count = match ? Number(match[1]) : 0;
  const times = match?.[2] ? Number(match[2]) : 1;
  if (!match || count < 1 || times < 1)
    throw new InvalidArgumentError(`expected <count>/<period> such as 200000/1d or 20/1m (s, m, h, d), got "${value}"`);
  return { count, periodMs: times * (UNIT_MS[match[3] as string] as number) };
}

/** `--token-budget` for commander. */
export function tokenBudgetFlag(value: string): TokenBudget {
  const { count, periodMs } = perPeriod(value);
  return { tokens: count, periodMs };
}

/** `--message-rate` for commander. */
export function messageRateFlag(value: string): MessageRate {
  const { count, periodMs } = perPeriod(value);
  return { messages: count, periodMs };
}

/** The log line saying what is enforced, and where it counts. */
export function limitsDescription(
  limits: { tokenBudget?: TokenBudget; messageRate?: MessageRate },
  shared: boolean,
): string | undefined {
  const parts = [
    limits.tokenBudget && `${limits.tokenBudget.tokens} tokens per ${limits.tokenBudget.periodMs / 1000} s`,
    limits.messageRate && `${limits.messageRate.messages} messages per ${limits.messageRate.periodMs / 1000} s`,
  ].filter(Boolean);
  if (parts.length === 0) return undefined;
  return `each principal may spend ${parts.join(' and ')}, counted ${shared ? 'in Redis (every process together)' : 'in this process'}`;
}
