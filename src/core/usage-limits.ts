/**
 * Per-principal limits on what replies spend: a token budget per period and a message rate, each
 * a counter of a {@link QuotaCounter} (in memory for one process, in Redis for several). The reply
 * pipeline asks before its model calls and tells what each call spent.
 */
import { RequestError } from '../errors';
import type { Logger, QuotaCounter } from './ports';
import { canonicalJson } from '../util/same-principal';

/** Tokens (input and output, summed over model calls) a principal may spend per period. */
export interface TokenBudget {
  readonly tokens: number;
  readonly periodMs: number;
}

/** `user_message`s a principal may send per period (refused ones do not count). */
export interface MessageRate {
  readonly messages: number;
  readonly periodMs: number;
}

/** What {@link createUsageLimits} enforces, and where it counts. */
export interface UsageLimitsOptions {
  readonly counter: QuotaCounter;
  readonly tokenBudget?: TokenBudget;
  readonly messageRate?: MessageRate;
  /**
   * Whose counters a principal uses. @default the principal as JSON with sorted keys (without
   * `authenticate` every connection's principal is `undefined`: one budget for the whole server)
   */
  readonly keyOf?: (principal: unknown) => string;
  readonly logger: Logger;
}

/** The limits as a reply sees them. Each check resolves a refusal (a `quota_exceeded` error) or nothing. */
export interface UsageLimits {
  /** A `user_message` arrives: refused when the budget is spent or the message rate reached; else counted. */
  admit(principal: unknown): Promise<RequestError | undefined>;
  /** A later model call of a running reply (after a tool round): refused when the budget is spent. */
  beforeCall(principal: unknown): Promise<RequestError | undefined>;
  /** A model call spent `tokens` (reported, or estimated): added to the budget's count. Never rejects. */
  spent(principal: unknown, tokens: number): void;
}

const defaultKeyOf = (principal: unknown): string => canonicalJson(principal) ?? 'null';

/** Where the counters are asked: the counter's failure lets the message through (logged), as a store outage should not lock users out. */
export function createUsageLimits(options: UsageLimitsOptions): UsageLimits {
  const { counter, tokenBudget, messageRate, logger } = options;
  const keyOf = options.keyOf ?? defaultKeyOf;
  const budgetLeft = async (key: string): Promise<RequestError | undefined> => {
    if (!tokenBudget) return undefined;
    const window = await counter.add(`tokens:${key}`, 0, tokenBudget.periodMs);
    if (window.used < tokenBudget.tokens) return undefined;
    return new RequestError(
      'quota_exceeded',
      `the token budget of ${tokenBudget.tokens} per ${tokenBudget.periodMs} ms is spent (${window.used} used)`,
      { retryable: true, retryAfterMs: window.resetInMs },
    );
  };
  const failedOpen = (error: unknown, what: string): undefined => {
    logger.warn({ err: error }, `usage limits: the quota counter failed (${what}); the request goes on unchecked`);
    return undefined;
  };
  return {
    admit: async (principal) => {
      const key = keyOf(principal);
      try {
        const overBudget = await budgetLeft(key);
        if (overBudget || !messageRate) return overBudget;
        const window = await counter.add(`messages:${key}`, 1, messageRate.periodMs);
        if (window.used <= messageRate.messages) return undefined;
        // Refused messages do not count against the rate: give this one back.
        await counter.add(`messages:${key}`, -1, messageRate.periodMs);
        return new RequestError(
          'quota_exceeded',
          `at most ${messageRate.messages} messages per ${messageRate.periodMs} ms`,
          { retryable: true, retryAfterMs: window.resetInMs },
        );
      } catch (error) {
        return failedOpen(error, 'admit');
      }
    },
    beforeCall: async (principal) => {
      try {
        return await budgetLeft(keyOf(principal));
      } catch (error) {
        return failedOpen(error, 'before a model call');
      }
    },
    spent: (principal, tokens) => {
      if (!tokenBudget || tokens <= 0) return;
      counter.add(`tokens:${keyOf(principal)}`, tokens, tokenBudget.periodMs).catch((error: unknown) => {
        logger.warn({ err: error, tokens }, 'usage limits: the quota counter failed; these tokens went uncounted');
      });
    },
  };
}
