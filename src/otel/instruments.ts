/**
 * The GenAI client metrics (gen-ai-metrics.md) llm-ws records for every model call, with the
 * bucket boundaries the conventions advise.
 */
import type { Histogram, Meter } from '@opentelemetry/api';

/** `gen_ai.client.operation.duration` and `...time_to_first_chunk` buckets, in seconds (the conventions' advice). */
export const DURATION_BUCKETS_S = [
  0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];
/** `gen_ai.client.token.usage` buckets (the conventions' advice). */
export const TOKEN_BUCKETS = [
  1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
];

/** The model call metrics. */
export interface GenAIInstruments {
  readonly operationDuration: Histogram;
  readonly tokenUsage: Histogram;
  readonly timeToFirstChunk: Histogram;
}

/** Creates the model call metrics on `meter`. */
export function createGenAIInstruments(meter: Meter): GenAIInstruments {
  return {
    operationDuration: meter.createHistogram('gen_ai.client.operation.duration', {
      description: 'GenAI operation duration',
      unit: 's',
      advice: { explicitBucketBoundaries: DURATION_BUCKETS_S },
    }),
    tokenUsage: meter.createHistogram('gen_ai.client.token.usage', {
      description: 'Number of input and output tokens used',
      unit: '{token}',
      advice: { explicitBucketBoundaries: TOKEN_BUCKETS },
    }),
    timeToFirstChunk: meter.createHistogram('gen_ai.client.operation.time_to_first_chunk', {
      description: 'Time to receive the first chunk in a streaming operation',
      unit: 's',
      advice: { explicitBucketBoundaries: DURATION_BUCKETS_S },
    }),
  };
}
