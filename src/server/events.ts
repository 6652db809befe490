/**
 * What a `WSServer` reports: its events, a session as `getActiveSessions` lists it, and the body
 * of `GET /health`.
 */
import type { RecordsHealth, StoreHealth } from '../core/ports';
import type { LLMWSError } from '../errors';
import type { SessionStatus } from '../protocol/codecs';
import type { UpstreamHealth } from './upstream-health';

/** What happens on a server, as `events$` emits it. */
export type WSServerEvent =
  /**
   * Accepting connections: on start, or, on a `server` of yours that was not listening yet, once it
   * listens. `url` and `port` are absent with `noServer` (and on a server listening on a pipe).
   */
  | { readonly type: 'started'; readonly url: string | undefined; readonly port: number | undefined }
  | { readonly type: 'stopped' }
  | { readonly type: 'client_connected'; readonly sessionId: string }
  | { readonly type: 'client_disconnected'; readonly sessionId: string; readonly code: number; readonly reason: string }
  | { readonly type: 'client_error'; readonly sessionId: string; readonly error: LLMWSError }
  | { readonly type: 'session_resumed'; readonly sessionId: string }
  /** With the memory store only: with Redis, a session left alone expires there, on no process. */
  | { readonly type: 'session_expired'; readonly sessionId: string };

/** One session, as `getActiveSessions` reports it. */
export interface SessionInfo {
  readonly sessionId: string;
  readonly status: SessionStatus;
  /** Whether a client is connected to it now (else it waits for a resume until it expires). */
  readonly connected: boolean;
  /** Messages in the conversation's history. */
  readonly historyLength: number;
  /** Who the session belongs to, as `authenticate` said. */
  readonly principal: unknown;
  /** About how many bytes it holds (history and replay), as `sessionMemoryBudgetBytes` counts them. */
  readonly heldBytes: number;
}

/** The event of type `K`. */
export type EventOf<K extends WSServerEvent['type']> = Extract<WSServerEvent, { type: K }>;

/** The body of `GET /health`. */
export interface HealthReport {
  readonly status: 'ok';
  readonly uptimeSeconds: number;
  readonly connections: number;
  readonly sessions: number;
  readonly repliesRunning: number;
  /** The WebSocket transport serving: `ws` (node:http + ws) or `bun` (`Bun.serve`'s native WebSockets). */
  readonly transport: 'ws' | 'bun';
  /** The session store: `memory`, or `redis` with whether it answers now (on a cluster: which masters do not). */
  readonly store: {
    readonly kind: string;
    readonly status: StoreHealth;
    readonly unavailableNodes?: readonly string[];
  };
  /**
   * The records the store keeps conversations in (`sqlite`, `postgres`), with whether they answer
   * now (`ok` or `unavailable`): under Redis, PostgreSQL may be down while Redis answers. Absent
   * for a store without records (memory, Redis alone).
   */
  readonly records?: RecordsHealth;
  /** Whether the model endpoint answered its last check (cached; never checked on the request's time). */
  readonly upstream: UpstreamHealth;
}
