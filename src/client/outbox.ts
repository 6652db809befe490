import { ClientError, type LLMWSError } from '../errors';

/** A frame waiting for a connection. */
export interface OutgoingFrame {
  readonly text: string;
  /** The request the frame belongs to, if it opens one. */
  readonly requestId: string | undefined;
  /**
   * A user_message: out of the queue only once no earlier one's reply is running when the
   * server refuses a second with `busy` (see {@link Outbox.release}).
   */
  readonly oneAtATime?: boolean;
}

interface PendingRequest {
  readonly text: string;
  readonly oneAtATime: boolean;
  /** The connection (epoch) the frame was last written to; undefined while it waits in the queue. */
  epoch: number | undefined;
  readonly fail: (error: LLMWSError) => void;
  /** Told when the frame no longer waits for a connection: it went out, or waits behind a reply on one. */
  readonly onConnected: (() => void) | undefined;
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
  track(
    requestId: string,
    frame: Omit<OutgoingFrame, 'requestId'>,
    fail: (error: LLMWSError) => void,
    onConnected?: () => void,
  ): void {
    this.pending.set(requestId, {
      text: frame.text,
      oneAtATime: frame.oneAtATime === true,
      epoch: undefined,
      fail,
      onConnected,
    });
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

  /** Whether the request is in flight (tracked and not settled). */
  has(requestId: string): boolean {
    return this.pending.has(requestId);
  }

  /** Queues a frame for the next connection. Throws {@link ClientError} `queue_full` past the bound. */
  enqueue(frame: OutgoingFrame): void {
    if (this.queue.length >= this.maxQueueSize) {
      throw new ClientError(
        'queue_full',
        `${this.queue.length} messages are already waiting for the connection (maxQueueSize)`,
      );
    }
    this.queue.push(frame);
  }

  /** Whether a user_message waits in the queue: a later one must wait behind it. */
  holdsOneAtATime(): boolean {
    return this.queue.some((frame) => frame.oneAtATime);
  }

  /** Whether a user_message went out and its reply has not settled: the next one waits for it. */
  replyRunning(): boolean {
    for (const request of this.pending.values()) if (request.oneAtATime && request.epoch !== undefined) return true;
    return false;
  }

  /**
   * Takes the queued frames that may go out on a connection now, oldest first: every control,
   * and, `oneAtATime` (the server refuses a message while a reply runs), the first user_message
   * unless a reply is running. Later user_messages stay queued until that reply settles
   * (`untrack`); they no longer wait for a connection. Without `oneAtATime` (the server queues
   * them itself) every frame goes.
   */
  release(oneAtATime = true): OutgoingFrame[] {
    if (!oneAtATime) {
      const all = this.queue;
      this.queue = [];
      return all;
    }
    let replyRunning = this.replyRunning();
    const now: OutgoingFrame[] = [];
    const held: OutgoingFrame[] = [];
    for (const frame of this.queue) {
      if (frame.oneAtATime && replyRunning) {
        held.push(frame);
        continue;
      }
      replyRunning ||= frame.oneAtATime === true;
      now.push(frame);
    }
    this.queue = held;
    for (const frame of held) this.pending.get(frame.requestId as string)?.onConnected?.();
    return now;
  }

  /** Records that a request's frame went out on connection `epoch`. */
  written(requestId: string | undefined, epoch: number): void {
    const request = requestId === undefined ? undefined : this.pending.get(requestId);
    if (!request) return;
    const first = request.epoch === undefined;
    request.epoch = epoch;
    if (first) request.onConnected?.();
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

  /** Fails one request (it must not go again). */
  fail(requestId: string, error: LLMWSError): void {
    const request = this.pending.get(requestId);
    if (!request) return;
    this.pending.delete(requestId);
    request.fail(error);
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
