import { ClientError, type LLMWSError } from '../errors';

/** A frame waiting for a connection. */
export interface OutgoingFrame {
  readonly text: string;
  /** The request the frame belongs to, if it opens one. */
  readonly requestId: string | undefined;
}

interface PendingRequest {
  readonly text: string;
  /** The connection (epoch) the frame was last written to; undefined while it waits in the queue. */
  epoch: number | undefined;
  readonly fail: (error: LLMWSError) => void;
  /** Told when the frame first goes out. */
  readonly onWritten: (() => void) | undefined;
}

/**
 * The client's requests in flight and the frames waiting for a connection. A request stays
 * pending across reconnects (a resume may still answer it) until it settles or is failed.
 */
export class Outbox {
  private readonly pending = new Map<string, PendingRequest>();
  private queue: OutgoingFrame[] = [];

  constructor(private readonly maxQueueSize: number) {}

  /** Starts tracking a request whose frame is `text`. */
  track(requestId: string, text: string, fail: (error: LLMWSError) => void, onWritten?: () => void): void {
    this.pending.set(requestId, { text, epoch: undefined, fail, onWritten });
  }

  /**
   * Stops tracking a request (it settled, or its subscriber left). Returns the connection its
   * frame went out on, or undefined if it never went out (its queued frame is dropped then).
   */
  untrack(requestId: string): number | undefined {
    const request = this.pending.get(requestId);
    this.pending.delete(requestId);
    if (request?.epoch === undefined) this.queue = this.queue.filter((frame) => frame.requestId !== requestId);
    return request?.epoch;
  }

  /** Queues a frame for the next connection. Throws {@link ClientError} `queue_full` past the bound. */
  enqueue(frame: OutgoingFrame): void {
    if (this.queue.length >= this.maxQueueSize) {
      throw new ClientError('queue_full', `${this.queue.length} messages are already waiting for the connection (maxQueueSize)`);
    }
    this.queue.push(frame);
  }

  /** Takes every queued frame, oldest first. */
  takeQueue(): OutgoingFrame[] {
    const frames = this.queue;
    this.queue = [];
    return frames;
  }

  /** Records that a request's frame went out on connection `epoch`. */
  written(requestId: string | undefined, epoch: number): void {
    const request = requestId === undefined ? undefined : this.pending.get(requestId);
    if (!request) return;
    const first = request.epoch === undefined;
    request.epoch = epoch;
    if (first) request.onWritten?.();
  }

  /** Frames of requests that went out on an earlier connection and are still unanswered, to send again. */
  unanswered(currentEpoch: number): OutgoingFrame[] {
    return [...this.pending]
      .filter(([, request]) => request.epoch !== undefined && request.epoch < currentEpoch)
      .map(([requestId, request]) => ({ text: request.text, requestId }));
  }

  /** Fails the requests that went out on an earlier connection (their answers are lost for good). */
  failUnanswered(currentEpoch: number, error: LLMWSError): void {
    for (const [requestId, request] of this.pending) {
      if (request.epoch === undefined || request.epoch >= currentEpoch) continue;
      this.pending.delete(requestId);
      request.fail(error);
    }
  }

  /** Fails every request and empties the queue. */
  failAll(error: LLMWSError): void {
    this.queue = [];
    for (const [requestId, request] of this.pending) {
      this.pending.delete(requestId);
      request.fail(error);
    }
  }
}
