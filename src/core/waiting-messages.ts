/**
 * The `user_message`s that arrived while a reply ran, checked and waiting for their turn, and
 * what a session does with one more (`concurrentMessages`).
 */
import type { ConcurrentMessages, HistoryAttachment, ServerMessageInput, UserMessage } from '../protocol/codecs';

/** What a session does with a message that arrives while a reply runs, unless configured. */
export const DEFAULT_CONCURRENT_MESSAGES: ConcurrentMessages = 'queue';
/** Messages one session holds behind its running reply unless configured; one more is refused `queue_full`. */
export const DEFAULT_MAX_QUEUED_MESSAGES = 16;

/** A message accepted (its text and attachments checked), not yet answered. */
export interface WaitingMessage {
  readonly message: UserMessage;
  readonly attachments: readonly HistoryAttachment[];
}

/** What became of a message offered while a reply runs. */
export type Offered =
  /** It waits behind the running reply (and those queued before it). */
  | { readonly outcome: 'queued' }
  /** The running reply must stop; it waits to run next, and `dropped` (queued before it) will not run. */
  | { readonly outcome: 'interrupt'; readonly dropped: readonly WaitingMessage[] }
  /** Refused: the server refuses concurrent messages. */
  | { readonly outcome: 'busy' }
  /** Refused: `maxQueuedMessages` wait already. */
  | { readonly outcome: 'queue_full' };

/** The end of a message that never ran: an empty aborted reply, so its sender stops waiting. */
export function neverRan(requestId: string): ServerMessageInput {
  return { type: 'llm_complete', data: { fullText: '', finishReason: 'aborted', requestId } };
}

/** The messages of one session waiting behind its running reply, oldest first. */
export class WaitingMessages {
  private list: WaitingMessage[] = [];

  constructor(
    readonly mode: ConcurrentMessages,
    private readonly max: number,
  ) {}

  get size(): number {
    return this.list.length;
  }

  /** Takes (or refuses) a message that arrived while a reply runs. */
  offer(waiting: WaitingMessage): Offered {
    if (this.mode === 'reject') return { outcome: 'busy' };
    if (this.mode === 'interrupt') {
      // The newest message is the one the user wants answered: any still waiting gives way too.
      const dropped = this.list;
      this.list = [waiting];
      return { outcome: 'interrupt', dropped };
    }
    if (this.list.length >= this.max) return { outcome: 'queue_full' };
    this.list.push(waiting);
    return { outcome: 'queued' };
  }

  /** The message to answer next, taken off the queue. */
  next(): WaitingMessage | undefined {
    return this.list.shift();
  }

  /** Takes the message `requestId` off the queue (its sender aborted it); false if it does not wait. */
  remove(requestId: string): boolean {
    const before = this.list.length;
    this.list = this.list.filter((waiting) => waiting.message.id !== requestId);
    return this.list.length < before;
  }

  /** Empties the queue, returning what waited. */
  clear(): WaitingMessage[] {
    const all = this.list;
    this.list = [];
    return all;
  }
}
