import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ServerMessageInput } from '../protocol/codecs';

/** What a resume came to, as `/metrics` counts it. */
export type ResumeOutcome = 'resumed' | 'session_lost' | 'resume_gap';

/** The numbers a server keeps for `/metrics`, fed from the places where things happen. */
export interface ServerMetrics {
  /** The Prometheus registry of this server (its own: several servers in one process do not collide). */
  readonly registry: Registry;
  /** A message went into a session's stream. */
  sent(message: ServerMessageInput): void;
  /** One model call ended (or failed) after `seconds`. */
  modelCall(seconds: number): void;
  /** A reply's first text arrived `seconds` after its user_message. */
  firstToken(seconds: number): void;
  connectionOpened(): void;
  resume(outcome: ResumeOutcome): void;
}

/** Live counts read at scrape time, so nothing is kept twice. */
export interface MetricsGauges {
  connections(): number;
  sessions(): number;
  repliesRunning(): number;
}

/** Creates the metrics of one server, named `llm_ws_*`, with Node's default process metrics. */
export function createServerMetrics(gauges: MetricsGauges): ServerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const gauge = (name: string, help: string, read: () => number): void => {
    new Gauge({ name, help, registers: [registry], collect() { this.set(read()); } });
  };
  gauge('llm_ws_connections', 'Open WebSocket connections', gauges.connections);
  gauge('llm_ws_sessions', 'Sessions held, connected or waiting for a resume', gauges.sessions);
  gauge('llm_ws_replies_running', 'Replies being generated now', gauges.repliesRunning);
  const connections = new Counter({ name: 'llm_ws_connections_total', help: 'WebSocket connections accepted', registers: [registry] });
  const chunks = new Counter({ name: 'llm_ws_chunks_sent_total', help: 'llm_chunk messages sent', registers: [registry] });
  const replies = new Counter({ name: 'llm_ws_replies_total', help: 'Replies ended, by finish reason', labelNames: ['finish_reason'], registers: [registry] });
  const errors = new Counter({ name: 'llm_ws_errors_total', help: 'error messages sent, by code', labelNames: ['code'], registers: [registry] });
  const resumes = new Counter({ name: 'llm_ws_resumes_total', help: 'Resume requests, by outcome', labelNames: ['outcome'], registers: [registry] });
  const buckets = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
  const modelCalls = new Histogram({ name: 'llm_ws_upstream_request_duration_seconds', help: 'Duration of model calls', buckets, registers: [registry] });
  const firstTokens = new Histogram({ name: 'llm_ws_time_to_first_token_seconds', help: 'Time from user_message to the first text of the reply', buckets, registers: [registry] });

  return {
    registry,
    sent: (message) => {
      if (message.type === 'llm_chunk') chunks.inc();
      else if (message.type === 'error') errors.inc({ code: message.data.code });
      else if (message.type === 'llm_complete') replies.inc({ finish_reason: message.data.finishReason });
    },
    modelCall: (seconds) => modelCalls.observe(seconds),
    firstToken: (seconds) => firstTokens.observe(seconds),
    connectionOpened: () => connections.inc(),
    resume: (outcome) => resumes.inc({ outcome }),
  };
}
