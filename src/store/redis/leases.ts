/**
 * Liveness: this process's lease (renewed while it runs, so others know its sessions are taken),
 * the TTLs of the sessions it writes, a PING that notices a hung Redis, and what happens around
 * an outage: running replies end when Redis goes, and the sessions are written again when it is
 * back (perhaps restarted empty).
 */
import { CloseCode } from '../../protocol/codes';
import { isCluster, type StoreConnection } from './connect';
import type { ServerProcess } from './server-process';

/**
 * A cluster is `ready` once it knows its slots, while its connections to the masters may still be
 * being made: a command for one of those fails at once (no offline queue), and the first resumes
 * of a new server were answered 1013. Ready means every master's connection is ready.
 */
async function mastersReady(redis: StoreConnection): Promise<void> {
  if (!isCluster(redis)) return;
  const masters = redis.nodes('master');
  const waits = masters
    .filter((master) => master.status !== 'ready')
    .map((master) => new Promise<void>((resolve) => master.once('ready', () => resolve())));
  await Promise.all(waits);
}

/** The timers and connection listeners of one process's liveness; `stop` clears the timers. */
export interface Leases {
  /** Resolves once Redis first answers and the bus is subscribed, or after `connectTimeoutMs`. */
  ready(): Promise<void>;
  /** Whether this process hears the other processes now (subscribed on the bus). */
  readonly listening: boolean;
  stop(): void;
}

/** Starts the lease of `node` and watches its connections; `onBus` gets each message of the bus. */
export function startLeases(node: ServerProcess, onBus: (text: string) => void): Leases {
  const { redis, subscriber, leaseMs, probeIntervalMs, connectTimeoutMs } = node.options;
  let everReady = false;
  let listening = false;
  const report = (error: unknown): void => node.reportFailure(error);

  redis.on('error', report);
  // Replies cannot go on without their log: they end now, not at their next chunk.
  redis.on('close', () => failRunningReplies(node));
  subscriber.on('error', report);
  subscriber.on('message', (_channel: string, text: string) => onBus(text));
  subscriber.on('close', () => (listening = false));
  // Without an offline queue, a subscribe before the connection is up fails: subscribe once it is.
  const subscribed = new Promise<void>((resolve) => {
    const subscribe = (): void => {
      subscriber.subscribe(node.data.busChannel).then(() => {
        listening = true;
        resolve();
      }, report);
    };
    // On every (re)connect: a SUBSCRIBE that failed is tried again; a repeated one is harmless.
    if (subscriber.status === 'ready') subscribe();
    subscriber.on('ready', subscribe);
  });
  const connected = new Promise<void>((resolve) => {
    const onReady = (): void => {
      node.recovered();
      if (everReady) void reassert(node);
      everReady = true;
      void renew(node);
      resolve();
    };
    if (redis.status === 'ready') onReady();
    redis.on('ready', onReady);
  });
  const readyOnce = Promise.all([subscribed, connected]).then(() => undefined);
  const renewal = setInterval(() => void renew(node), Math.max(50, Math.floor(leaseMs / 3)));
  renewal.unref();
  // A hung Redis keeps its connections open: only an unanswered command tells (the deadline then drops the connection).
  const probe = setInterval(() => {
    if (node.available()) redis.ping().catch(report);
  }, probeIntervalMs);
  probe.unref();

  return {
    ready: async () => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          node.context.logger.warn(
            `Redis did not answer within ${connectTimeoutMs} ms; sessions are refused (store_unavailable) until it does`,
          );
          resolve();
        }, connectTimeoutMs);
      });
      await Promise.race([readyOnce.then(() => mastersReady(redis)), late]);
      clearTimeout(timer);
    },
    get listening() {
      return listening;
    },
    stop: () => {
      clearInterval(renewal);
      clearInterval(probe);
    },
  };
}

/** Renews this process's lease, and the TTLs of the sessions it holds that are due. */
async function renew(node: ServerProcess): Promise<void> {
  if (!node.available() || node.closed) return;
  try {
    await node.data.renewLease(node.nodeId, node.options.leaseMs);
    const due = node.dueForRenewal();
    await node.data.touch(due.map((session) => session.id));
    // A session held long without a change stays listed as long as it is kept.
    await node.data.index.renew(due.map((session) => session.principal));
  } catch (error) {
    node.reportFailure(error);
  }
}

/**
 * Redis is back after an outage (perhaps restarted empty): writes again what this process's
 * sessions need there. A session another process took meanwhile is given up here.
 */
async function reassert(node: ServerProcess): Promise<void> {
  const { data } = node;
  try {
    await data.renewLease(node.nodeId, node.options.leaseMs);
    const { sessions } = node.context;
    // Let go of with writes that failed and not released: written again (see writeAgain), then released.
    for (const sessionId of [...node.unreleased]) {
      if (!sessions.get(sessionId)) await node.releaseOwnership(sessionId);
      node.unreleased.delete(sessionId);
    }
    node.forgetUnwritten((sessionId) => node.unreleased.has(sessionId));
    for (const [sessionId, writer] of [...node.writers]) {
      const session = sessions.get(sessionId);
      if (!session) continue;
      const owner = await data.owner(session.id);
      if ((owner.alive && owner.id !== node.nodeId) || !(await data.claim(session.id, owner.id, node.nodeId))) {
        session.closeConnection(CloseCode.SessionTakenOver, 'the session was resumed on another connection');
        sessions.drop(session);
        continue;
      }
      await node.writeState(session.id, writer, { history: session.history(), lastSeq: session.lastSeq });
    }
    node.context.logger.info('Redis is back; the sessions of this process are stored again');
  } catch (error) {
    node.reportFailure(error);
  }
}

/** Redis went away: every reply this process runs ends with `store_unavailable`. */
function failRunningReplies(node: ServerProcess): void {
  if (node.closed) return;
  for (const writer of node.writers.values()) if (writer.busy !== undefined) writer.fail();
}
