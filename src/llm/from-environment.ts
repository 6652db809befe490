import { offlineProvider } from './offline-provider';
import { DEFAULT_MODEL, openAIHealthCheck, openAIProvider } from './openai-provider';
import type { LLMProvider } from './types';

/** The provider the environment asks for, and words for the start-up log. */
export interface EnvironmentProvider {
  readonly provider: LLMProvider;
  /** True when no model endpoint is configured and the offline demo model answers. */
  readonly offline: boolean;
  readonly description: string;
  /** Whether the endpoint answers, for `/health`. */
  readonly healthCheck: () => Promise<boolean>;
}

/**
 * `openAIProvider` when OPENAI_API_KEY or OPENAI_BASE_URL is set (model from `model`, LLM_MODEL
 * or {@link DEFAULT_MODEL}), otherwise the offline demo model.
 */
export function providerFromEnvironment(
  env: NodeJS.ProcessEnv = process.env,
  overrides: { model?: string } = {},
): EnvironmentProvider {
  const { OPENAI_API_KEY: apiKey, OPENAI_BASE_URL: baseURL } = env;
  if (!apiKey && !baseURL) {
    return {
      provider: offlineProvider(),
      offline: true,
      healthCheck: () => Promise.resolve(true),
      description:
        'the OFFLINE DEMO model (no OPENAI_API_KEY or OPENAI_BASE_URL set): it only tells the time and does arithmetic',
    };
  }
  const model = overrides.model ?? env.LLM_MODEL ?? DEFAULT_MODEL;
  return {
    provider: openAIProvider({ apiKey, baseURL, model }),
    healthCheck: openAIHealthCheck({ apiKey, baseURL }),
    offline: false,
    description: `model ${model} at ${baseURL ?? 'https://api.openai.com/v1'}`,
  };
}
