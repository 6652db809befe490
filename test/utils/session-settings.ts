/**
 * The session settings the core's tests share: no tools, no system prompt, small limits, a silent
 * logger. Each test gives its model (and whatever it changes).
 */
import { silentLogger } from '../../src/core/logger';
import type { SharedSessionOptions } from '../../src/core/make-server';
import type { LLMProvider } from '../../src/llm/types';
import { createToolRegistry } from '../../src/tools';

/** Settings of a test session answered by `provider`; `overrides` replace any of them. */
export function testSessionSettings(
  provider: LLMProvider,
  overrides: Partial<SharedSessionOptions> = {},
): SharedSessionOptions {
  return {
    provider,
    tools: createToolRegistry([]),
    conversation: { systemPrompt: '' },
    maxToolSteps: 5,
    idleTimeoutMs: 10_000,
    maxMessageLength: 100,
    onDisconnect: 'continue',
    replay: { maxMessages: 100, maxBytes: 100_000 },
    backpressure: { highWaterMark: 1000, hardLimit: 5000 },
    logger: silentLogger,
    ...overrides,
  };
}
