/**
 * A session in follower mode: a client is connected to this process while another process writes
 * the session (runs its replies, numbers its stream). The store feeds it the frames the writer
 * appends (`deliver`); every client frame goes to the writer through the store (`forward`), held
 * until the writer confirms it (`took`); the writer's answers to one connection come back
 * (`answered`). Once the store has made this process the writer, `promote` hands the connections
 * to a writer-mode session and everything goes to it from then on: the connections keep talking
 * to this object, so nothing changes under them.
 */
import type { HistoryMessage, ServerMessageInput, SessionMessageIn, SessionStatus } from '../protocol/codecs';
import { CloseCode } from '../protocol/codes';
import { encodeServerMessage } from '../protocol/decode';
import { SessionConnections } from './session-connections';
import type { BackpressureLimits, Logger, ReplayLimits, ReplayResult, Sender, Session, Transport } from './ports';
import { HeldFrames } from './held-frames';
import { ReplayLog } from './replay-log';

/** A client's frame a follower forwards to the session's writer (see {@link FollowerInit.forward}). */
export interface ForwardedFrame {
  readonly message: SessionMessageIn;
  /** Names the frame for the writer's confirmation ({@link FollowerSession.took}). */
  readonly key: string;
  /** The sending connection's name, for the writer's answers to it alone ({@link FollowerSession.answered}); none for no connection. */
  readonly connection?: string;
}

/**
 * A {@link ForwardedFrame} as the writer's process receives it (see `CoreSessions.takeForwarded`):
 * one an older process forwarded names neither a key nor a connection.
 */
export interface ReceivedForward {
  readonly message: SessionMessageIn;
  readonly key?: string | undefined;
  readonly connection?: string | undefined;
}

/** The follower that forwarded a frame, as the writer's process tells it (through the store's bus). */
export interface Forwarder {
  /** The writer took frame `key` (see {@link FollowerSession.took}). */
  took(key: string): void;
  /** The writer's answer for `connection` alone (see {@link FollowerSession.answered}). */
  answer(connection: string, message: ServerMessageInput): void;
}

/** What the core's shared-session parts give to make a follower (./following.ts). */
export interface FollowerInit {
  readonly sessionId: string;
  readonly resumeToken: string;
  readonly principal: unknown;
  /** The seq of the newest frame the client has been given (the replay's last). */
  readonly startSeq: number;
  /**
   * Sends a client's frame to the process that writes the session. That process handles it with a
   * {@link RemoteSender} for `connection` (its answers to the connection alone come back through
   * `answered`) and confirms it (`took`). A frame never confirmed is handled here after `promote`.
   */
  forward(frame: ForwardedFrame): void;
  /** Optional: told once when the follower ends (this process lets go of it, promoted or not). */
  ended?(): void;
}

/**
 * A session in follower mode: a connection of this process on a session another process writes.
 * The core feeds it the writer's frames (./following.ts) and its confirmations and answers, and promotes it once
 * this process writes the session; the connections keep talking to this object throughout.
 */
export interface FollowerSession extends Session {
  /** Whether this process writes the session now (after {@link promote}). */
  readonly promoted: boolean;
  /** The seq of the newest frame delivered. */
  readonly followedSeq: number;
  /** A frame of the stream as the writer appended it (older or repeated ones are ignored). */
  deliver(seq: number, text: string): void;
  /** The writer took forwarded frame `key`: it is no longer held for a takeover. */
  took(key: string): void;
  /** The writer's answer for connection `name` alone (no seq). */
  answered(name: string, message: ServerMessageInput): void;
  /** This process writes the session now, through `writer` (made with `makeSession`): the connections move to it. */
  promote(writer: Session): void;
  /** After {@link promote} (and whatever the store tells the client first): handles the frames the old writer never took, and pushes that waited. */
  handleHeld(): void;
  /** Another process writes the session now: the frames no writer confirmed are forwarded to it again (same keys). */
  forwardHeld(): void;
}

/** A client's frame forwarded to the writer, held until the writer says it took it (or this process takes over). */
interface Forwarded {
  readonly message: SessionMessageIn;
  readonly from: Transport | undefined;
}

/** What every follower of a server shares. */
export interface FollowerOptions {
  readonly replay: ReplayLimits;
  readonly backpressure: BackpressureLimits;
  readonly logger: Logger;
  readonly nextMessageId: () => string;
}

const NO_HISTORY: readonly HistoryMessage[] = [];

class Follower implements FollowerSession {
  readonly id: string;
  readonly resumeToken: string;
  readonly principal: unknown;
  private log: ReplayLog;
  private readonly connections: SessionConnections;
  /** Pushes (`push`, `broadcast`) that reached this follower, for when this process writes. */
  private readonly queued = new HeldFrames<ServerMessageInput>();
  /** Client frames forwarded to the writer and not yet taken, by key, oldest first. */
  private readonly forwarded = new HeldFrames<Forwarded>();
  private connectionCount = 0;
  /** Each connection's name for the writer (its answers come back for it), and back. */
  private readonly connectionNames = new Map<Transport, string>();
  private readonly connectionsByName = new Map<string, Transport>();
  private ended = false;
  /** Makes this follower's forward keys its own: a new follower of the session on this process starts its holds' keys again. */
  private readonly keyPrefix: string;
  /** The writer-mode session once this process writes: everything goes to it. */
  private writer: Session | undefined;

  constructor(
    private readonly options: FollowerOptions,
    private readonly init: FollowerInit,
  ) {
    this.id = init.sessionId;
    this.resumeToken = init.resumeToken;
    this.principal = init.principal;
    this.log = new ReplayLog(options.replay, init.startSeq);
    this.keyPrefix = `${options.nextMessageId()}.`;
    this.connections = new SessionConnections(options.backpressure, options.logger, init.sessionId);
  }

  get promoted(): boolean {
    return this.writer !== undefined;
  }

  get followedSeq(): number {
    return this.log.lastSeq;
  }

  history(): readonly HistoryMessage[] {
    // A follower holds no conversation: the writer has it.
    return this.writer?.history() ?? NO_HISTORY;
  }

  get status(): SessionStatus {
    return this.writer?.status ?? 'idle';
  }

  get connectionsAttached(): number {
    return this.writer ? this.writer.connectionsAttached : this.connections.size;
  }

  get attached(): boolean {
    return this.writer ? this.writer.attached : this.connections.size > 0;
  }

  get busy(): boolean {
    return this.writer?.busy ?? false;
  }

  get lastSeq(): number {
    return this.writer?.lastSeq ?? this.log.lastSeq;
  }

  get heldBytes(): number {
    return this.log.heldBytes + (this.writer?.heldBytes ?? 0);
  }

  sendDirect(message: ServerMessageInput): void {
    if (this.writer) return this.writer.sendDirect(message);
    if (!this.ended) this.connections.write(encodeServerMessage(message, this.options.nextMessageId()));
  }

  answer(to: Sender | undefined, message: ServerMessageInput): void {
    if (this.writer) return this.writer.answer(to, message);
    if (this.ended) return;
    if (!to) return this.send(message);
    if ('remote' in to) return to.answer(message);
    this.connections.writeTo(to, encodeServerMessage(message, this.options.nextMessageId()));
  }

  /** A push while another process writes: kept for when this one does (the writer has its own). */
  send(message: ServerMessageInput): void {
    if (this.writer) return this.writer.send(message);
    if (this.ended) return;
    if (this.queued.hold(message) === undefined)
      this.options.logger.warn(
        { sessionId: this.id },
        'too many pushes while another process writes this session; one was dropped',
      );
  }

  /**
   * Every client frame goes to the writer, where the conversation and the reply are: it answers
   * what is the sender's alone back to that connection (`answered`). The frame is held until the
   * writer says it took it; a writer that died before (its lease not yet run out) never will, so
   * this process handles what it still holds once it is promoted (`handleHeld`).
   */
  handle(message: SessionMessageIn, from?: Sender): void {
    if (this.writer) return this.writer.handle(message, from);
    if (this.ended) return;
    const transport = from && !('remote' in from) ? from : undefined;
    const key = this.forwarded.hold({ message, from: transport });
    if (key === undefined) {
      return this.answer(from, {
        type: 'error',
        data: {
          code: 'rate_limited',
          message: 'too many messages while the process writing this session does not answer: try again shortly',
          retryable: true,
          requestId: message.id,
        },
      });
    }
    this.forwardOne(key, message, transport);
  }

  forwardHeld(): void {
    if (this.writer || this.ended) return;
    for (const [key, { message, from }] of this.forwarded.entries()) this.forwardOne(key, message, from);
  }

  /** Keys name a frame across processes (the new writer takes each once): this follower's own prefix, then the hold's. */
  private forwardOne(key: string, message: SessionMessageIn, from: Transport | undefined): void {
    this.init.forward({
      message,
      key: `${this.keyPrefix}${key}`,
      ...(from ? { connection: this.nameOf(from) } : {}),
    });
  }

  took(key: string): void {
    if (key.startsWith(this.keyPrefix)) this.forwarded.release(key.slice(this.keyPrefix.length));
  }

  answered(name: string, message: ServerMessageInput): void {
    const transport = this.connectionsByName.get(name);
    if (transport && !this.ended) this.answer(transport, message);
  }

  deliver(seq: number, text: string): void {
    if (this.ended || this.writer || seq <= this.log.lastSeq) return;
    // The store skips seqs only past an outage that lost frames; nothing before them can be replayed.
    if (seq !== this.log.lastSeq + 1) this.log = new ReplayLog(this.options.replay, seq - 1);
    this.log.append(seq, text);
    this.connections.write(text);
  }

  promote(writer: Session): void {
    if (this.writer || this.ended) return;
    // The connections move to the session this process writes; the follower goes on as their face.
    const transports = this.connections.transports();
    this.connections.detachAll();
    transports.forEach((transport, i) => writer.attach(transport, [], { share: i > 0 }));
    this.writer = writer;
  }

  handleHeld(): void {
    // What the old writer never took (it died, or let go first) is this process's to answer now.
    for (const { message, from } of this.forwarded.takeAll()) this.handle(message, from);
    for (const message of this.queued.takeAll()) this.send(message);
  }

  attach(
    transport: Transport,
    replay?: readonly string[],
    options?: { readonly share?: boolean },
  ): Transport | undefined {
    if (this.writer) return this.writer.attach(transport, replay, options);
    const [previous, ...others] = this.connections.attach(transport, replay ?? [], options?.share === true, 0);
    for (const replaced of [previous, ...others]) if (replaced) this.forgetConnection(replaced);
    for (const other of others)
      other.close(CloseCode.SessionTakenOver, 'the session was resumed on another connection');
    return previous;
  }

  detach(transport: Transport): boolean {
    if (this.writer) return this.writer.detach(transport);
    this.forgetConnection(transport);
    // Shared: the session is left only when its last connection goes.
    return this.connections.detach(transport) && this.connections.size === 0;
  }

  closeConnection(code: number, reason: string): void {
    if (this.writer) return this.writer.closeConnection(code, reason);
    this.connections.close(code, reason);
  }

  /** The frames after `lastSeq`: this follower's own, then (once promoted) the writer's. */
  replaySince(lastSeq: number): ReplayResult {
    const followed = this.log.since(lastSeq);
    if (!this.writer) return followed;
    const written = this.writer.replaySince(lastSeq);
    if (!('gap' in written)) return written;
    // Older than the promotion: this follower's frames, then the writer's.
    if ('gap' in followed) return followed;
    const after = this.writer.replaySince(this.log.lastSeq);
    return 'gap' in after ? written : { frames: [...followed.frames, ...after.frames] };
  }

  acknowledge(seq: number, from?: Transport): void {
    // A client cannot have more than was sent; acks repeat on every heartbeat. Shared, the least of the connections' acks counts.
    const upTo = Math.min(seq, this.log.lastSeq);
    this.log.acknowledge(Math.min(this.connections.acknowledge(upTo, from) ?? upTo, this.log.lastSeq));
    this.writer?.acknowledge(seq, from);
  }

  end(): void {
    if (!this.ended) this.init.ended?.();
    this.ended = true;
    this.connections.detachAll();
    this.log.clear();
    this.forwarded.takeAll();
    this.queued.takeAll();
    this.connectionNames.clear();
    this.connectionsByName.clear();
    this.writer?.end();
  }

  /** A connection's name for the writer (see `answered`). */
  private nameOf(transport: Transport): string {
    let name = this.connectionNames.get(transport);
    if (name === undefined) {
      name = String(++this.connectionCount);
      this.connectionNames.set(transport, name);
      this.connectionsByName.set(name, transport);
    }
    return name;
  }

  private forgetConnection(transport: Transport): void {
    const name = this.connectionNames.get(transport);
    if (name === undefined) return;
    this.connectionNames.delete(transport);
    this.connectionsByName.delete(name);
  }
}

/** A session in follower mode, for the core's shared-session parts to feed (./following.ts). */
export function createFollowerSession(options: FollowerOptions, init: FollowerInit): FollowerSession {
  return new Follower(options, init);
}
