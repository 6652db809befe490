/**
 * Which masters of a Redis Cluster answer now. A hung master leaves the cluster connection
 * `ready` (the other nodes serve their slots), so the store stays up; only the sessions in that
 * master's slots fail, each at the command deadline. This watch PINGs every master on the
 * cluster's own connections (which carry the deadline), so `/health` can name the ones that do
 * not answer, and also names a master the slot map still names but that has no connection (it
 * died, and its replica has not yet taken over).
 */
import type { Cluster, Redis } from 'ioredis';
import { nodeName } from './connect';

/** What {@link watchClusterNodes} hands back. */
export interface ClusterNodeWatch {
  /** `host:port` of each master that did not answer its last PING, sorted. */
  unavailable(): string[];
  /** Stops the PINGs. */
  stop(): void;
}

/**
 * PINGs every master of `cluster` every `intervalMs`; a PING that fails (the node connection's
 * deadline passed, or the connection is down) marks the master unavailable until one succeeds.
 */
export function watchClusterNodes(cluster: Cluster, intervalMs: number): ClusterNodeWatch {
  const down = new Set<string>();
  const pending = new Set<Redis>();
  /** Masters the slot map names that have no connection (one that died is dropped until a refresh names its successor). */
  const unreachable = new Set<string>();
  const check = (): void => {
    if (cluster.status !== 'ready') return;
    const masters = cluster.nodes('master');
    const names = new Set(masters.map((node) => nodeName(node.options)));
    unreachable.clear();
    for (const owners of cluster.slots) {
      const owner = owners?.[0];
      if (owner !== undefined && !names.has(owner)) unreachable.add(owner);
    }
    // A master that left the cluster (failed over, removed) is no longer one of its nodes.
    for (const name of down) if (!names.has(name)) down.delete(name);
    for (const node of masters) {
      // One PING at a time per node: a hung node must not pile them up.
      if (pending.has(node)) continue;
      pending.add(node);
      const name = nodeName(node.options);
      node
        .ping()
        .then(
          () => down.delete(name),
          () => down.add(name),
        )
        .finally(() => pending.delete(node));
    }
  };
  const timer = setInterval(check, intervalMs);
  timer.unref();
  return {
    unavailable: () => [...new Set([...down, ...unreachable])].sort(),
    stop: () => clearInterval(timer),
  };
}
