/**
 * Following a session another process writes: a client resumed here while the writer (the
 * process that runs its reply) is elsewhere. The follower is the session object the connection
 * talks to: it replays the log, writes new entries as the writer appends them (XREAD BLOCK),
 * forwards abort/pause/resume to the writer, and queues the rest. Once the writer lets go (its
 * reply ended) or its lease runs out (it died), this process claims the session and the follower
 * is promoted in place: a core session is made from the stored state, takes the connection, and
 * everything goes to it from then on. The core never learns any of this.
 */
import type { Subscription } from 'rxjs';
import { type Conversation, createConversation } from '../../core/conversation';
import { createIdGenerator } from '../../core/ids';
import { Outlets } from '../../core/outlets';
import type { ClaimResult, Transport } from '../../core/ports';
import { ReplayLog, type ReplayResult } from '../../core/replay-log';
import type { Session } from '../../core/session';
import type { ServerMessageInput, SessionMessageIn, SessionStatus } from '../../protocol/codecs';
import { CloseCode } from '../../protocol/codes';
import { encodeServerMessage } from '../../protocol/decode';
import { followLog } from './follow-log';
import type { StoredMeta } from './redis-data';
import type { RedisNode } from './redis-node';
import { failInterrupted, loadWriter } from './writer';

/** What the client asked of the session while another process writes it, for when this one does. */
type Queued = { readonly handle: SessionMessageIn; readonly from?: Transport } | { readonly send: ServerMessageInput };

/** Frames queued by a follower before it gives up on the writer and drops them. */
const MAX_QUEUED_WHILE_FOLLOWING = 256;
/** Controls that reach the reply where it runs; other client messages wait for this process to write. */
const FORWARDED_CONTROLS = new Set(['abort', 'pause', 'resume']);

/** A session of this process whose writer is another process, until it is promoted to writer here. */
export class FollowerSession implements Session {
  private log: ReplayLog;
  private readonly outlet: Outlets;
  private readonly nextMessageId = createIdGenerator();
  private readonly queued: Queued[] = [];
  /** A follower holds no conversation: the writer has it. */
  private readonly noConversation: Conversation = createConversation({ systemPrompt: '' });
  private following: Subscription | undefined;
  private checking = false;
  private disposed = false;
  /** The core session this process writes once promoted: everything goes to it. */
  private promoted: Session | undefined;

  constructor(
    private readonly node: RedisNode,
    readonly id: string,
    readonly resumeToken: string,
    readonly principal: unknown,
    startSeq: number,
  ) {
    this.log = new ReplayLog(node.context.replay, startSeq);
    this.outlet = new Outlets(node.context.backpressure, node.context.logger, id);
  }

  get conversation(): Conversation {
    return this.promoted?.conversation ?? this.noConversation;
  }

  get status(): SessionStatus {
    return this.promoted?.status ?? 'idle';
  }

  get connectionCount(): number {
    return this.promoted ? this.promoted.connectionCount : this.outlet.size;
  }

  get attached(): boolean {
    return this.promoted ? this.promoted.attached : this.outlet.size > 0;
  }

  get busy(): boolean {
    return this.promoted?.busy ?? false;
  }

  get lastSeq(): number {
    return this.promoted?.lastSeq ?? this.log.lastSeq;
  }

  get heldBytes(): number {
    return this.log.heldBytes + (this.promoted?.heldBytes ?? 0);
  }

  /** Whether this process writes the session now. */
  get isPromoted(): boolean {
    return this.promoted !== undefined;
  }

  sendDirect(message: ServerMessageInput): void {
    if (this.promoted) return this.promoted.sendDirect(message);
    if (!this.disposed) this.outlet.write(encodeServerMessage(message, this.nextMessageId()));
  }

  sendTo(to: Transport | undefined, message: ServerMessageInput): void {
    if (this.promoted) return this.promoted.sendTo(to, message);
    if (this.disposed) return;
    if (to) this.outlet.writeTo(to, encodeServerMessage(message, this.nextMessageId()));
    else this.send(message);
  }

  send(message: ServerMessageInput): void {
    if (this.promoted) return this.promoted.send(message);
    this.enqueue({ send: message });
  }

  handle(message: SessionMessageIn, from?: Transport): void {
    if (this.promoted) return this.promoted.handle(message, from);
    if (this.disposed) return;
    // Answers to a tool call go where the reply waits for them, as abort does.
    const forwarded =
      message.type === 'tool_approval' ||
      message.type === 'tool_result' ||
      (message.type === 'control' && FORWARDED_CONTROLS.has(message.data.type));
    if (forwarded) {
      void this.node.publish({ t: 'control', s: this.id, m: message }).catch(() => undefined);
    } else {
      this.enqueue({ handle: message, from });
    }
  }

  attach(
    transport: Transport,
    replay?: readonly string[],
    options?: { readonly share?: boolean },
  ): Transport | undefined {
    if (this.promoted) return this.promoted.attach(transport, replay, options);
    const [previous, ...others] = this.outlet.attach(transport, replay ?? [], options?.share === true, 0);
    for (const other of others)
      other.close(CloseCode.SessionTakenOver, 'the session was resumed on another connection');
    return previous;
  }

  detach(transport: Transport): boolean {
    if (this.promoted) return this.promoted.detach(transport);
    // Shared: the session is left only when its last connection goes.
    return this.outlet.detach(transport) && this.outlet.size === 0;
  }

  closeConnection(code: number, reason: string): void {
    if (this.promoted) return this.promoted.closeConnection(code, reason);
    this.outlet.close(code, reason);
  }

  /** The frames after `lastSeq`: this follower's own, then (once promoted) the writer's. */
  replaySince(lastSeq: number): ReplayResult {
    const followed = this.log.since(lastSeq);
    if (!this.promoted) return followed;
    const written = this.promoted.replaySince(lastSeq);
    if (!('gap' in written)) return written;
    // Older than the promotion: this follower's frames, then the writer's.
    if ('gap' in followed) return followed;
    const after = this.promoted.replaySince(this.log.lastSeq);
    return 'gap' in after ? written : { frames: [...followed.frames, ...after.frames] };
  }

  acknowledge(seq: number, from?: Transport): void {
    // A client cannot have more than was sent; acks repeat on every heartbeat. Shared, the least of the connections' acks counts.
    const upTo = Math.min(seq, this.log.lastSeq);
    this.log.acknowledge(Math.min(this.outlet.acknowledge(upTo, from) ?? upTo, this.log.lastSeq));
    this.promoted?.acknowledge(seq, from);
  }

  dispose(): void {
    this.disposed = true;
    this.following?.unsubscribe();
    this.following = undefined;
    this.outlet.release();
    this.log.clear();
    this.promoted?.dispose();
  }

  /** Starts reading the log after `afterSeq` as the writer appends to it. */
  follow(): void {
    const { node } = this;
    const connection = node.options.newConnection();
    connection.on('error', () => undefined); // reported through the main connection; the follow is retried
    this.following = followLog({
      connection,
      key: node.data.key(this.id, 'log'),
      afterSeq: this.log.lastSeq,
      blockMs: node.options.followBlockMs,
      unblock: (clientId) => node.options.redis.client('UNBLOCK', clientId).catch(() => undefined),
    }).subscribe({
      next: (frames) => {
        for (const frame of frames) this.deliver(frame.seq, frame.text);
        if (frames.length === 0) void this.checkWriter();
      },
      error: (error: unknown) => {
        node.reportFailure(error);
        // Redis went away under the follow: the client reconnects and resumes once it is back.
        if (node.held.get(this.id)?.session === this)
          this.closeConnection(CloseCode.TryAgainLater, 'session store unavailable: try again shortly');
      },
    });
  }

  /** The writer is checked: once it no longer holds the session, this process takes over. */
  async checkWriter(): Promise<void> {
    const { node } = this;
    if (this.promoted || this.checking || node.held.get(this.id)?.session !== this) return;
    this.checking = true;
    try {
      const owner = await node.data.owner(this.id);
      if (owner.alive && owner.id !== node.nodeId) return;
      if (!(await node.data.claim(this.id, owner.id, node.nodeId))) return;
      await this.promote();
    } catch (error) {
      node.reportFailure(error);
    } finally {
      this.checking = false;
    }
  }

  /** A message of the stream as read from the log, written to the connection. */
  private deliver(seq: number, text: string): void {
    if (this.disposed || this.promoted || seq <= this.log.lastSeq) return;
    // The store skips seqs only past an outage that lost frames; nothing before them can be replayed.
    if (seq !== this.log.lastSeq + 1) this.log = new ReplayLog(this.node.context.replay, seq - 1);
    this.log.append(seq, text);
    this.outlet.write(text);
  }

  private enqueue(item: Queued): void {
    if (this.disposed) return;
    if (this.queued.length < MAX_QUEUED_WHILE_FOLLOWING) this.queued.push(item);
    else
      this.node.context.logger.warn(
        { sessionId: this.id },
        'too many messages while another process writes this session; one was dropped',
      );
  }

  /** This process writes the session now: the rest of the log, then the state, then what the client asked meanwhile. */
  private async promote(): Promise<void> {
    const { node } = this;
    this.following?.unsubscribe();
    this.following = undefined;
    const meta = await node.data.readMeta(this.id);
    if (node.held.get(this.id)?.session !== this || !meta) {
      // The client left meanwhile, or the session expired: let go of what was just taken.
      await node.data.release(this.id, node.nodeId);
      return;
    }
    const range = await node.data.framesAfter(this.id, this.log.lastSeq);
    for (const frame of 'frames' in range ? range.frames : []) this.deliver(frame.seq, frame.text);
    const writer = await loadWriter(node, this.id, meta, this.log.lastSeq);
    const session = node.context.makeSession({
      sessionId: this.id,
      resumeToken: this.resumeToken,
      principal: this.principal,
      persistence: writer,
    });
    // The connection moves to the session this process writes; the follower goes on as its face.
    const transports = this.outlet.transports();
    this.outlet.release();
    transports.forEach((transport, i) => session.attach(transport, [], { share: i > 0 }));
    this.promoted = session;
    node.holdAsWriter(this, writer);
    if (meta.busy !== undefined) failInterrupted(node, this, meta.busy);
    for (const item of this.queued.splice(0)) {
      if ('handle' in item) this.handle(item.handle, item.from);
      else this.send(item.send);
    }
    const held = node.held.get(this.id);
    if (held && !this.attached && !this.busy) node.letGo(held);
  }
}

/** Another process writes the session: replay from the log and follow it. */
export async function follow(
  node: RedisNode,
  sessionId: string,
  resumeToken: string,
  meta: StoredMeta,
  lastSeq: number,
  share = false,
): Promise<ClaimResult> {
  // Its writer closes the client's old connection, if it still has one (not when this one joins it).
  if (!share) await node.publish({ t: 'takeover', s: sessionId, by: node.nodeId });
  const range = await node.data.framesAfter(sessionId, lastSeq);
  if ('gap' in range) return { outcome: 'resume_gap', oldestHeld: range.gap.oldestHeld };
  const startSeq = Math.max(lastSeq, range.frames[range.frames.length - 1]?.seq ?? 0);
  const follower = new FollowerSession(node, sessionId, resumeToken, meta.principal, startSeq);
  follower.follow();
  node.held.set(sessionId, { session: follower, follower });
  return { outcome: 'resumed', session: follower, replay: range.frames.map((frame) => frame.text) };
}
