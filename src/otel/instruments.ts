/**
 * The GenAI client metrics (gen-ai-metrics.md) llm-ws records for every model call, with the
 * bucket boundaries the conventions advise.
 */
import type { Counter, Histogram, Meter, UpDownCounter } from '@opentelemetry/api';

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

/** llm-ws's own metrics, beside the GenAI ones. */
export interface LlmWsInstruments {
  /** `llm_ws.resumes`: resumes answered, by `llm_ws.resume.outcome`. */
  readonly resumes: Counter;
  /** `llm_ws.resume.replayed_messages`: how far behind a resumed client was (messages replayed to it). */
  readonly replayedMessages: Histogram;
  /** `llm_ws.tool_calls.waiting`: tool calls waiting for the client, by `llm_ws.waiting_for` (`approval`, `client_tool`). */
  readonly waiting: UpDownCounter;
}

/** Replay lag buckets, in messages. */
export const REPLAY_BUCKETS = [0, 1, 4, 16, 64, 256, 1024, 4096, 16384];

/** Creates llm-ws's own metrics on `meter`. */
export function createLlmWsInstruments(meter: Meter): LlmWsInstruments {
  return {
    resumes: meter.createCounter('llm_ws.resumes', {
      description: 'Resumes answered, by outcome (resumed, session_lost, resume_gap)',
      unit: '{resume}',
    }),
    replayedMessages: meter.createHistogram('llm_ws.resume.replayed_messages', {
      description: 'Messages replayed to a resumed client: how far behind it was',
      unit: '{message}',
      advice: { explicitBucketBoundaries: REPLAY_BUCKETS },
    }),
    waiting: meter.createUpDownCounter('llm_ws.tool_calls.waiting', {
      description: "Tool calls waiting for the client: for the user's approval, or for a client tool's result",
      unit: '{tool_call}',
    }),
  };
}
