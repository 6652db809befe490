/**
 * The client's frames in and out, over whichever connection is greeted now: decoding and
 * counting what comes in, writing or queueing what goes out, and the requests in flight.
 * Browser-safe. Not exported from the package.
 */
import type { Subject } from 'rxjs';
import { ClientError, type LLMWSError, ProtocolError } from '../errors';
import { requestIdOf, serverErrorOf } from '../operators/reply-of';
import type { ServerMessage, ServerMessageOf, SessionStatus } from '../protocol/codecs';
import { decodeServerFrame, type ServerShapes } from '../protocol/decode-server-message';
import { serverStreamShapes } from '../protocol/server-shapes.generated';
import { encodeMessage } from '../protocol/encode';
import type { CloseInfo } from './connection-error';
import type { Link, SessionCursor } from './connection';
import { type OutgoingFrame, Outbox } from './outbox';
import type { ResolvedOptions } from './resolve-options';
import { TrafficStats } from './traffic-stats';

/** Close code 1009 (a frame over the server's maxPayload); not CloseCode, whose module carries io-ts codecs into the client. */
export const MESSAGE_TOO_BIG = 1009;

/**
 * What the lean client checks: every message's data but the answers to `WSClient`'s requests
 * (history, conversations), which it never makes: their envelope only (WSClient checks them all).
 */
const LEAN_SHAPES: ServerShapes = {
  ...serverStreamShapes,
  history: 'unknown',
  conversations: 'unknown',
  conversation_updated: 'unknown',
};

/** Where the wire tells what it hears. */
export interface WireOutlets {
  readonly incoming: Subject<ServerMessage>;
  readonly errors: Subject<LLMWSError>;
  readonly sessionState: { readonly value: SessionStatus | undefined; next(status: SessionStatus): void };
}

/** Frames in and out for one client. */
export class Wire {
  readonly outbox: Outbox;
  readonly stats = new TrafficStats();
  /** The greeted connection, while there is one. */
  link: Link | undefined;
  private readonly idPrefix: string;
  private idCounter = 0;
  /** When each request's frame went out (by id), until its first answer: for `lastRoundTripMs`. */
  private readonly sentAt = new Map<string, number>();
  /** The largest frame written on the current connection (in UTF-16 units): what a 1009 close blames. */
  private largestSent: { readonly length: number; readonly requestId: string | undefined } | undefined;
  private lastPing: { readonly id: string; readonly at: number } | undefined;
  /**
   * Whether the server orders the messages sent while a reply runs itself (its greeting says
   * `concurrentMessages` `queue` or `interrupt`): they go at once. Otherwise the client holds them
   * until the running reply ends, as a server that refuses them with `busy` needs.
   */
  private serverOrders = false;
  /**
   * Errors not this client's to report (WSClient sets it: other tabs' refusals in a shared
   * session, from an older server); none by default.
   */
  notOurs: ((message: ServerMessageOf<'error'>) => boolean) | undefined;
  /** The data shapes decoding checks (WSClient sets every message's). */
  shapes: ServerShapes = LEAN_SHAPES;

  constructor(
    private readonly options: ResolvedOptions,
    private readonly cursor: SessionCursor,
    private readonly outlets: WireOutlets,
  ) {
    this.idPrefix = options.random().toString(36).slice(2, 8);
    this.outbox = new Outbox(options.maxQueueSize);
  }

  /** Whether request `requestId` is this client's: one it made (its id prefix) or one in flight. */
  ours(requestId: string): boolean {
    return requestId.startsWith(`${this.idPrefix}-`) || this.outbox.has(requestId);
  }

  nextId(): string {
    return `${this.idPrefix}-${(this.idCounter++).toString(36)}`;
  }

  /** Decodes a frame, drops one already read, and passes it on. */
  receive(raw: string): ServerMessage | undefined {
    this.stats.received(raw);
    const { incoming, errors, sessionState } = this.outlets;
    const message = decodeServerFrame(raw, this.shapes);
    if (message instanceof ProtocolError) {
      errors.next(message);
      return undefined;
    }
    if (message.seq !== undefined) {
      // Seen already (a resume replays from the last seq this client read): each message once.
      if (message.seq <= this.cursor.lastSeq) return undefined;
      this.cursor.lastSeq = message.seq;
    }
    const now = this.options.scheduler.now();
    if (message.type === 'pong' && message.data.requestId === this.lastPing?.id)
      this.stats.lastRoundTripMs = now - this.lastPing.at;
    const answered = requestIdOf(message);
    const sentAt = answered === undefined ? undefined : this.sentAt.get(answered);
    if (sentAt !== undefined) {
      this.sentAt.delete(answered as string);
      this.stats.lastRoundTripMs = now - sentAt;
    }
    if (message.type === 'session') {
      const mode = message.data.concurrentMessages;
      this.serverOrders = mode === 'queue' || mode === 'interrupt';
    }
    if (message.type === 'status' && message.data.status !== sessionState.value) sessionState.next(message.data.status);
    if (message.type === 'error' && !this.notOurs?.(message)) errors.next(serverErrorOf(message));
    incoming.next(message);
    return message;
  }

  /**
   * A connection was greeted: `announce` tells the app, then requests sent on a lost one go again
   * (the server ignores a user_message it already has), then what waited in the queue.
   */
  greeted(link: Link, announce: () => void): void {
    this.link = link;
    this.stats.connectedSince = new Date(this.options.scheduler.now());
    this.largestSent = undefined;
    announce();
    for (const frame of this.outbox.unanswered(link.epoch)) this.transmit(frame);
    this.release();
  }

  /** The greeted connection ended. Its requests stay pending: a resume may still answer them. */
  lost(close: CloseInfo | undefined): void {
    this.link = undefined;
    this.stats.connectedSince = null;
    // 1009 blames the largest frame sent on the connection: a request's is failed, not sent again
    // on the next one (where it would be refused again, forever). Another frame's (a tool result's)
    // is the human-in-the-loop part's to answer.
    const largest = this.largestSent;
    this.largestSent = undefined;
    if (close?.code === MESSAGE_TOO_BIG && largest?.requestId !== undefined) {
      this.outbox.fail(
        largest.requestId,
        new ClientError(
          'message_too_large',
          `the message (a frame of ${largest.length} characters) was larger than the server takes in one frame: it closed the connection with 1009`,
        ),
      );
    }
  }

  /**
   * Sends now when connected; queues (bounded) while `connecting`, and queues a user_message
   * behind one still queued or whose reply runs. Throws {@link ClientError} `not_connected` when
   * not connected and not `connecting`, `queue_full` past `maxQueueSize`. Returns `sent`,
   * `queued` (waiting for a connection) or `held` (waiting behind a reply).
   */
  write(frame: OutgoingFrame, connecting: boolean, started: boolean): 'sent' | 'queued' | 'held' {
    if (this.link) {
      // A server that refuses a message while a reply runs gets one at a time: a message sent
      // while one runs waits here for its end (as it would while connecting), never refused `busy`.
      if (frame.oneAtATime && !this.serverOrders && (this.outbox.holdsOneAtATime() || this.outbox.replyRunning())) {
        this.outbox.enqueue(frame);
        return 'held';
      }
      this.transmit(frame);
      return 'sent';
    }
    if (!connecting) {
      throw new ClientError(
        'not_connected',
        started
          ? 'not connected: the client was disconnected or gave up reconnecting; call connect() again'
          : 'not connected: call connect() first',
      );
    }
    this.outbox.enqueue(frame);
    return 'queued';
  }

  /** Stops tracking a request that settled or was left, and lets the next queued message go. */
  untrack(requestId: string): number | undefined {
    this.sentAt.delete(requestId);
    const sentOn = this.outbox.untrack(requestId);
    this.release();
    return sentOn;
  }

  /** A protocol ping; it acknowledges what this client has read, so the server can drop it from its replay buffer. */
  ping(): void {
    if (!this.link) return;
    const id = this.nextId();
    this.lastPing = { id, at: this.options.scheduler.now() };
    this.transmit({
      text: encodeMessage({ type: 'ping', id, data: { lastSeq: this.cursor.lastSeq } }),
      requestId: undefined,
    });
  }

  /** Stops for good: fails everything pending and empties the queue. */
  close(reason: LLMWSError): void {
    this.link = undefined;
    this.stats.connectedSince = null;
    this.outbox.failAll(reason);
  }

  /** Sends what the queue lets go now (see {@link Outbox.release}). */
  private release(): void {
    if (this.link) for (const frame of this.outbox.release(!this.serverOrders)) this.transmit(frame);
  }

  private transmit(frame: OutgoingFrame): void {
    const link = this.link;
    if (!link) return;
    link.send(frame.text);
    this.stats.sent(frame.text);
    if (frame.text.length > (this.largestSent?.length ?? 0))
      this.largestSent = { length: frame.text.length, requestId: frame.requestId };
    if (frame.requestId !== undefined && this.outbox.has(frame.requestId))
      this.sentAt.set(frame.requestId, this.options.scheduler.now());
    this.outbox.written(frame.requestId, link.epoch);
  }
}
