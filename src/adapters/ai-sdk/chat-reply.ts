/**
 * The running reply of one chat, as the AI SDK's requests see it: its chunks so far (a resume
 * replays them with the same sequence numbers) and the requests that stream it now.
 */
import type { ServerMessage } from '../../protocol/codecs';
import type { ChatResponse, UIMessageChunk } from './codecs';
import { ReplyChunker, uiFinishReason } from './reply-chunks';

/** One AI SDK request that streams the reply: `send` (live, numbered from 0) or `resume` (numbered as the reply's log). */
export interface Follower {
  readonly requestId: string;
  readonly kind: 'send' | 'resume';
  /** The sequence its next chunk gets. */
  nextSeq: number;
}

/** Where a reply is: streaming, waiting for the user's approval, or over. */
export type ReplyState = 'running' | 'waiting' | 'done' | 'failed';

/** Sends one frame to the transport's socket. */
export type SendFrame = (frame: ChatResponse) => void;

/**
 * A reply's log of chunks and its followers. Its first chunk is `start` with the assistant
 * message's id, derived from the reply's id so that every process names it alike.
 */
export class ChatReply {
  readonly messageId: string;
  readonly log: UIMessageChunk[];
  state: ReplyState = 'running';
  private readonly chunker = new ReplyChunker();
  private readonly followers = new Map<string, Follower>();
  /** Up to where (exclusive) in the log the live (`send`) requests have had the reply. */
  private liveCursor = 0;
  private settleScheduled = false;

  constructor(
    readonly id: string,
    private readonly sendFrame: SendFrame,
  ) {
    this.messageId = `msg-${id}`;
    this.log = [{ type: 'start', messageId: this.messageId }];
  }

  /** Tool calls waiting for the user's approval. */
  get awaiting(): ReadonlySet<string> {
    return this.chunker.awaiting;
  }

  has(requestId: string): boolean {
    return this.followers.has(requestId);
  }

  /** What was replayed so far is what the client has (a chat opened mid-reply): a `send` goes on after it. */
  markDelivered(): void {
    this.liveCursor = this.log.length;
  }

  /** A `send` streams the reply from where the last live request left it. */
  followLive(requestId: string): void {
    this.sendFrame({ type: 'start', requestId });
    const follower: Follower = { requestId, kind: 'send', nextSeq: 0 };
    this.followers.set(requestId, follower);
    // The first live request starts at the log's `start`; a later one (after an approval) gets its own.
    if (this.liveCursor > 0) this.emit(follower, { type: 'start', messageId: this.messageId });
    for (let i = this.liveCursor; i < this.log.length; i++) this.emit(follower, this.log[i] as UIMessageChunk);
    this.liveCursor = this.log.length;
    this.state = 'running';
  }

  /** A `resume` gets the log after `lastSequence` (all of it without), then goes on live; or the end, when waiting. */
  followResume(requestId: string, lastSequence: number | undefined): void {
    this.sendFrame({ type: 'start', requestId });
    const follower: Follower = { requestId, kind: 'resume', nextSeq: 0 };
    for (let i = 0; i < this.log.length; i++) {
      follower.nextSeq = i;
      if (lastSequence === undefined || i > lastSequence) this.emit(follower, this.log[i] as UIMessageChunk);
    }
    follower.nextSeq = this.log.length;
    if (this.state === 'waiting') return this.end(follower, 'tool-calls');
    this.followers.set(requestId, follower);
  }

  /** Stops streaming to `requestId` (its request was aborted, or its socket left); true if it was one. */
  unfollow(requestId: string): boolean {
    return this.followers.delete(requestId);
  }

  /** One message of the reply. */
  push(message: ServerMessage): void {
    const wasAwaiting = this.chunker.awaiting.size;
    this.append(this.chunker.push(message));
    if (message.type === 'llm_complete') {
      this.append([{ type: 'finish', finishReason: uiFinishReason(message.data.finishReason) }]);
      this.state = 'done';
      for (const follower of [...this.followers.values()]) this.end(follower, undefined);
      return;
    }
    if (this.chunker.awaiting.size > wasAwaiting) {
      this.state = 'waiting';
      // A round's approvals (and its other calls) come together: the requests end after all of them.
      if (!this.settleScheduled) {
        this.settleScheduled = true;
        setImmediate(() => this.settle());
      }
    } else if (this.chunker.awaiting.size === 0 && this.state === 'waiting') this.state = 'running';
  }

  /** The reply failed (`errorText` names our error code): every request streaming it fails. */
  fail(errorText: string): void {
    this.state = 'failed';
    for (const follower of [...this.followers.values()]) {
      this.followers.delete(follower.requestId);
      this.sendFrame({ type: 'error', requestId: follower.requestId, errorText });
    }
  }

  /** The requests waiting now end: the user answers the approvals with a new `send`. */
  private settle(): void {
    this.settleScheduled = false;
    if (this.state !== 'waiting') return;
    this.append(this.chunker.finishStep());
    for (const follower of [...this.followers.values()]) this.end(follower, 'tool-calls');
  }

  private append(chunks: readonly UIMessageChunk[]): void {
    for (const chunk of chunks) {
      this.log.push(chunk);
      for (const follower of this.followers.values()) {
        if (follower.kind === 'resume') follower.nextSeq = this.log.length - 1;
        this.emit(follower, chunk);
      }
      if (this.hasLive()) this.liveCursor = this.log.length;
    }
  }

  private hasLive(): boolean {
    for (const follower of this.followers.values()) if (follower.kind === 'send') return true;
    return false;
  }

  /** Ends a request: a `finish` first when the reply only pauses for approvals (it is in the log otherwise). */
  private end(follower: Follower, pausedFor: 'tool-calls' | undefined): void {
    this.followers.delete(follower.requestId);
    if (pausedFor) this.emit(follower, { type: 'finish', finishReason: pausedFor });
    this.sendFrame({ type: 'end', requestId: follower.requestId });
  }

  private emit(follower: Follower, chunk: UIMessageChunk): void {
    this.sendFrame({ type: 'chunk', requestId: follower.requestId, sequence: follower.nextSeq++, chunk });
  }
}
