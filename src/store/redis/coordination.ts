/**
 * The Redis store's `Coordination`: ownership on each session's `owner` key (compare-and-set,
 * with this process's lease saying it is alive), the log followed with `XREAD BLOCK` on a
 * connection of its own, and the bus on one pub/sub channel (./bus.ts).
 */
import { defer, type Subject } from 'rxjs';
import type { Coordination, CoordinationMessage } from '../../core/ports';
import { followLog } from './follow-log';
import type { ServerProcess } from './server-process';

/** The Redis coordination of process `node`, with the bus's messages as `heard` feeds them (see leases.ts). */
export function redisCoordination(node: ServerProcess, heard: Subject<CoordinationMessage>): Coordination {
  return {
    processId: node.nodeId,
    owner: (sessionId) => node.data.owner(sessionId),
    claim: async (sessionId, expectedOwner) => {
      if (!(await node.data.claim(sessionId, expectedOwner, node.nodeId))) return false;
      // Let go of here with writes Redis lacks (and not released since): they go in before it is read to load.
      await node.writeAgain(sessionId);
      return true;
    },
    release: async (sessionId) => {
      try {
        await node.releaseOwnership(sessionId);
      } catch (error) {
        // Else a process following it would wait on this one (whose lease runs on) until the session expires.
        node.unreleased.add(sessionId);
        node.reportFailure(error);
      }
    },
    // The connection is made for each subscription (XREAD BLOCK holds it) and goes with it.
    follow: (sessionId, afterSeq) =>
      defer(() => {
        const connection = node.options.newConnection();
        connection.on('error', () => undefined); // reported through the main connection; the follow is retried
        return followLog({
          connection,
          key: node.data.key(sessionId, 'log'),
          afterSeq,
          blockMs: node.options.followBlockMs,
          unblock: (clientId) => node.options.redis.client('UNBLOCK', clientId).catch(() => undefined),
        });
      }),
    publish: (message) => node.publish(message),
    messages: heard.asObservable(),
  };
}
