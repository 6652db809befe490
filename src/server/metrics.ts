import type * as PromClient from 'prom-client';
import type { Registry, RegistryContentType } from 'prom-client';
import { LLMWSError } from '../errors';
import { lazyRequire } from '../util/lazy-require';
import type { ServerMessageInput } from '../protocol/codecs';

import type { ResumeOutcome } from '../core/connection';

/** prom-client, loaded by the first server made (not by `import { WSClient } from 'llm-ws'`). */
const promClient = lazyRequire('prom-client') as () => typeof PromClient;

export type { ResumeOutcome };

/**
 * The numbers a server keeps for `/metrics`, fed from the places where things happen. Its
 * functions need no `this`: the server hands them to the core as they are.
 */
export interface ServerMetrics {
  /** The Prometheus registry the metrics are on: the `registry` option's, or one of this server's own. */
  readonly registry: Registry<RegistryContentType>;
  /** A message went into a session's stream. */
  readonly sent: (message: ServerMessageInput) => void;
  /** One model call ended (or failed) after `seconds`. */
  readonly modelCall: (seconds: number) => void;
  /** A reply's first text arrived `seconds` after its user_message. */
  readonly firstToken: (seconds: number) => void;
  readonly connectionOpened: () => void;
  readonly resume: (outcome: ResumeOutcome) => void;
}

/** Live counts read at scrape time, so nothing is kept twice. */
export interface MetricsGauges {
  readonly connections: () => number;
  readonly sessions: () => number;
  readonly repliesRunning: () => number;
}

/** Where a server's metrics go and what comes with them. */
export interface ServerMetricsOptions {
  /** The registry to register on; a fresh one of the server's own when absent. */
  readonly registry?: Registry<RegistryContentType>;
  /** Also collect Node's default process metrics (`process_*`, `nodejs_*`) on it. */
  readonly collectDefaultMetrics?: boolean;
}

/**
 * Creates the metrics of one server, named `llm_ws_*`. No two metric families share a name under
 * OpenMetrics either (a counter `x_total` is the family `x`), so a registry of any content type
 * renders and merges cleanly. Registering twice on one registry (two servers, or one rebuilt on
 * the same registry) throws a {@link LLMWSError} with code `metrics_conflict`.
 */
export function createServerMetrics(gauges: MetricsGauges, options: ServerMetricsOptions = {}): ServerMetrics {
  const registry = options.registry ?? new (promClient().Registry)();
  try {
    return registerServerMetrics(registry, gauges, options.collectDefaultMetrics ?? false);
  } catch (error) {
    throw new LLMWSError(
      'metrics_conflict',
      `llm-ws could not register its metrics: ${error instanceof Error ? error.message : String(error)} (one registry per WSServer, and default metrics collected once)`,
      { cause: error },
    );
  }
}

function registerServerMetrics(
  registry: Registry<RegistryContentType>,
  gauges: MetricsGauges,
  withDefaults: boolean,
): ServerMetrics {
  const { collectDefaultMetrics, Counter, Gauge, Histogram } = promClient();
  const registers = [registry];
  // Check every name first, so a conflict leaves the registry as it was.
  for (const name of metricNames) {
    if (registry.getSingleMetric(name)) throw new Error(`a metric named ${name} is already registered`);
  }
  if (withDefaults) collectDefaultMetrics({ register: registry });
  const gauge = (name: string, help: string, read: () => number): void => {
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(read());
      },
    });
  };
  gauge('llm_ws_open_connections', 'Open WebSocket connections', gauges.connections);
  gauge('llm_ws_sessions', 'Sessions held, connected or waiting for a resume', gauges.sessions);
  gauge('llm_ws_replies_running', 'Replies being generated now', gauges.repliesRunning);
  const connections = new Counter({
    name: 'llm_ws_connections_total',
    help: 'WebSocket connections accepted',
    registers,
  });
  // Counted in a plain number and handed to prom-client when scraped: `inc()` per chunk was a
  // visible share of the server's CPU per chunk under load.
  let chunksSent = 0;
  new Counter({
    name: 'llm_ws_chunks_sent_total',
    help: 'llm_chunk messages sent',
    registers,
    collect() {
      this.inc(chunksSent);
      chunksSent = 0;
    },
  });
  const replies = new Counter({
    name: 'llm_ws_replies_total',
    help: 'Replies ended, by finish reason',
    labelNames: ['finish_reason'],
    registers,
  });
  const errors = new Counter({
    name: 'llm_ws_errors_total',
    help: 'error messages sent, by code',
    labelNames: ['code'],
    registers,
  });
  const resumes = new Counter({
    name: 'llm_ws_resumes_total',
    help: 'Resume requests, by outcome',
    labelNames: ['outcome'],
    registers,
  });
  const buckets = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
  const modelCalls = new Histogram({
    name: 'llm_ws_upstream_request_duration_seconds',
    help: 'Duration of model calls',
    buckets,
    registers,
  });
  const firstTokens = new Histogram({
    name: 'llm_ws_time_to_first_token_seconds',
    help: 'Time from user_message to the first text of the reply',
    buckets,
    registers,
  });

  return {
    registry,
    sent: (message) => {
      if (message.type === 'llm_chunk') chunksSent++;
      else if (message.type === 'error') errors.inc({ code: message.data.code });
      else if (message.type === 'llm_complete') replies.inc({ finish_reason: message.data.finishReason });
    },
    modelCall: (seconds) => modelCalls.observe(seconds),
    firstToken: (seconds) => firstTokens.observe(seconds),
    connectionOpened: () => connections.inc(),
    resume: (outcome) => resumes.inc({ outcome }),
  };
}

/** The names of the metrics of {@link createServerMetrics}. */
export const metricNames = [
  'llm_ws_open_connections',
  'llm_ws_sessions',
  'llm_ws_replies_running',
  'llm_ws_connections_total',
  'llm_ws_chunks_sent_total',
  'llm_ws_replies_total',
  'llm_ws_errors_total',
  'llm_ws_resumes_total',
  'llm_ws_upstream_request_duration_seconds',
  'llm_ws_time_to_first_token_seconds',
] as const;
