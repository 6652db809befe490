/**
 * The writes of each session on a Redis Cluster, in the order they were made. One connection to
 * one Redis keeps commands in order; a cluster connection may not: during a failover a command
 * redirected by MOVED reaches the new master after a later one that was sent there directly. So
 * each session's writes go one batch at a time, the next once the previous has been answered;
 * log appends that wait meanwhile go together as one pipeline (one round trip), so a session
 * that streams faster than a round trip per chunk does not fall behind.
 */
import type { ChainableCommander, Cluster } from 'ioredis';

type Queued =
  | {
      readonly run: () => Promise<unknown>;
      readonly resolve: (value: unknown) => void;
      readonly reject: (error: unknown) => void;
    }
  | {
      readonly add: (pipeline: ChainableCommander) => void;
      readonly resolve: (value: unknown) => void;
      readonly reject: (error: unknown) => void;
    };

/** Per-session ordered writes on a cluster connection. */
export class OrderedWrites {
  private readonly queues = new Map<string, Queued[]>();

  constructor(
    private readonly cluster: Cluster,
    /** Called before each write: lets the writes of one turn leave together (see turn-batch.ts). */
    private readonly beforeWrite: () => void = () => undefined,
  ) {}

  /** Runs `write` once the session's earlier writes have been answered. */
  run<T>(sessionId: string, write: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) =>
      this.enqueue(sessionId, { run: write, resolve: resolve as (value: unknown) => void, reject }),
    );
  }

  /**
   * Sends the one command `add` puts on a pipeline once the session's earlier writes have been
   * answered, in one pipeline with the session's other such commands waiting then. Resolves with
   * its reply, or rejects with its error.
   */
  batched(sessionId: string, add: (pipeline: ChainableCommander) => void): Promise<unknown> {
    return new Promise((resolve, reject) => this.enqueue(sessionId, { add, resolve, reject }));
  }

  private enqueue(sessionId: string, item: Queued): void {
    const queue = this.queues.get(sessionId);
    if (queue) {
      queue.push(item);
      return;
    }
    const fresh = [item];
    this.queues.set(sessionId, fresh);
    void this.drain(sessionId, fresh);
  }

  private async drain(sessionId: string, queue: Queued[]): Promise<void> {
    while (queue.length > 0) {
      const first = queue[0] as Queued;
      if ('run' in first) {
        queue.shift();
        this.beforeWrite();
        await first.run().then(first.resolve, first.reject);
        continue;
      }
      const batch: Array<Extract<Queued, { add: unknown }>> = [];
      while (queue.length > 0 && 'add' in (queue[0] as Queued))
        batch.push(queue.shift() as Extract<Queued, { add: unknown }>);
      const pipeline = this.cluster.pipeline();
      for (const item of batch) item.add(pipeline);
      this.beforeWrite();
      try {
        const results = (await pipeline.exec()) ?? [];
        batch.forEach((item, i) => {
          const [error, reply] = results[i] ?? [new Error('no reply to a pipelined command'), null];
          if (error) item.reject(error);
          else item.resolve(reply);
        });
      } catch (error) {
        for (const item of batch) item.reject(error);
      }
    }
    this.queues.delete(sessionId);
  }
}
