/**
 * The Redis store opened for one server: its records and coordination (`SharedStoreParts`); the
 * core keeps the sessions on them (`core/shared-directory.ts`). Each session has one writer at a
 * time, the process whose name is in its `owner` key. The parts: ./server-process.ts (shared
 * state), ./writer.ts (the sessions' records: creating and loading one), ./coordination.ts
 * (ownership, following the log, the bus), ./leases.ts (liveness and outages),
 * ./conversations.ts (the catalog), and this file, which puts them together.
 */
import { Subject } from 'rxjs';
import type { CoordinationMessage, SessionStoreContext, SharedStoreParts } from '../../core/ports';
import { decodeBusMessage } from './bus';
import { redisConversations } from './conversations';
import { redisCoordination } from './coordination';
import { startLeases } from './leases';
import { ServerProcess, type RedisDirectoryOptions } from './server-process';
import { redisSessionRecords } from './writer';

export type { RedisDirectoryOptions };

/** Opens the Redis store's records and coordination on the given connections. */
export function openRedisStore(context: SessionStoreContext, options: RedisDirectoryOptions): SharedStoreParts {
  const node = new ServerProcess(context, options);
  const heard = new Subject<CoordinationMessage>();
  const leases = startLeases(node, (text) => {
    const message = decodeBusMessage(text);
    if (message && !node.closed) heard.next(message);
  });
  return {
    coordination: redisCoordination(node, heard),
    records: redisSessionRecords(node),
    reportFailure: (error) => node.reportFailure(error),
    available: () => node.available(),
    // `ok` once both commands and the bus work again: a process not yet subscribed after an outage would miss takeovers.
    health: () => (node.available() && leases.listening ? 'ok' : 'unavailable'),
    // The records under Redis (PostgreSQL), if any: Redis may answer while they do not.
    recordsHealth: () => {
      const { records } = node;
      return records ? { kind: records.kind, status: records.health?.() ?? 'ok' } : undefined;
    },
    // Resolves once Redis first answers, or after `connectTimeoutMs` (the server then starts without it).
    ready: () => leases.ready(),
    conversations: (claim) => redisConversations(node, claim),
    close: async () => {
      if (node.closed) return;
      node.closed = true;
      leases.stop();
      heard.complete();
      try {
        if (node.available()) await node.data.dropLease(node.nodeId).catch(() => undefined);
        await options.closeConnections();
      } finally {
        // Writes what the records batched (the frames of a reply cut by the stop too) and lets go of them.
        await node.records?.close();
      }
    },
  };
}
