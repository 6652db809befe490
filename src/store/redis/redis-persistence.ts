import type { SessionPersistence } from '../../core/ports';
import type { HistoryMessage, Usage } from '../../protocol/codecs';
import type { RecordsPersistence } from '../records/records-persistence';
import type { ServerProcess } from './server-process';

/**
 * `user_message` ids kept in Redis per session. A resend is of a message that got no answer
 * before a reconnect, so the newest few suffice (a process keeps more while it holds the session).
 */
export const REMEMBERED_REQUEST_IDS_IN_STORE = 64;

/** What a session's persistence needs from the process's Redis store. */
export type PersistenceHost = Pick<
  ServerProcess,
  'data' | 'available' | 'reportFailure' | 'touchDue' | 'stoppedWriting' | 'writesLost' | 'context'
>;

/**
 * What a writer sent to Redis that did not get there (its write failed: Redis went away or hung
 * before answering), kept so it can be written again once Redis is back ({@link RedisPersistence.unwritten}).
 */
export interface UnwrittenState {
  /** Frames whose append failed, in seq order (the newest `replayMaxMessages` of them). */
  readonly frames: ReadonlyArray<{ readonly seq: number; readonly text: string }>;
  /** Request ids whose start (`busy`, remembered id) failed to be written, oldest first. */
  readonly requestIds: readonly string[];
  /** How many writes had failed: one that fails later is not taken as written again. */
  readonly failures: number;
}

/**
 * The persistence hooks of a session written by this process: every message, history change,
 * usage total and reply start and end goes to Redis as it happens, and to the durable records
 * when the store has them (`records`). Writes are not awaited (one connection keeps them in
 * order); a failed one stops the running reply (through `onFailed`).
 */
export class RedisPersistence implements SessionPersistence {
  /** The request id of the running reply, so it can be written again after Redis lost it. */
  busy: string | undefined;
  /** The newest seq appended, the history and usage as last changed: what Redis must hold. */
  latestSeq: number;
  latestHistory: readonly HistoryMessage[];
  latestUsage: Usage | undefined;
  /** Writes that failed since the session's state was last written again (see {@link unwritten}). */
  private lost: { frames: Array<{ seq: number; text: string }>; requestIds: string[]; failures: number } | undefined;
  private failed: (() => void) | undefined;

  constructor(
    private readonly host: PersistenceHost,
    private readonly sessionId: string,
    /** SHA-256 of the resume token, as stored. */
    readonly tokenHash: string,
    readonly principal: unknown,
    readonly lastSeq: number,
    readonly history: readonly HistoryMessage[],
    readonly requestIds: readonly string[],
    /** The usage total as stored. */
    readonly usage?: Usage,
    /** The write-through to the durable records, when the store keeps them. */
    readonly records?: RecordsPersistence,
  ) {
    this.latestSeq = lastSeq;
    this.latestHistory = history;
    this.latestUsage = usage;
    records?.onFailed(() => this.fail());
  }

  /**
   * What failed to reach Redis since the state was last written again; none when every write got
   * there. A write that failed may have been lost (never sent, or sent on a connection that then
   * closed), so Redis may lack the frames, the history, the end of a reply, that the client saw.
   */
  get unwritten(): UnwrittenState | undefined {
    const lost = this.lost;
    return lost && { frames: [...lost.frames], requestIds: [...lost.requestIds], failures: lost.failures };
  }

  /** `state` (what {@link unwritten} was) was written again: those writes are in Redis now; any that failed since stay. */
  rewritten(state: UnwrittenState): void {
    const lost = this.lost;
    if (!lost) return;
    if (lost.failures === state.failures) {
      this.lost = undefined;
      return;
    }
    lost.frames = lost.frames.filter((frame) => !state.frames.includes(frame));
    lost.requestIds = lost.requestIds.slice(state.requestIds.length);
  }

  available(): boolean {
    return this.host.available();
  }

  onFailed(listener: () => void): void {
    this.failed = listener;
  }

  /** Redis went away under the session: its running reply ends with `store_unavailable`. */
  fail(): void {
    this.failed?.();
  }

  frameAppended(seq: number, text: string): void {
    const { data } = this.host;
    this.latestSeq = seq;
    this.settle(data.append(this.sessionId, seq, text), (lost) => {
      lost.frames.push({ seq, text });
      // The log keeps no more than this either; a longer outage's oldest frames are past any resume.
      if (lost.frames.length > this.host.context.replayMaxMessages) lost.frames.shift();
    });
    // XADD keeps a key's TTL but creates the stream without one: the first append gives it one.
    // touchDue is asked every time, so the first append's renewal counts and the second does not renew again.
    const due = this.host.touchDue(this.sessionId);
    if (due || seq === this.lastSeq + 1) this.settle(data.touch([this.sessionId]));
    this.records?.frameAppended(seq, text);
  }

  framesCoalesced(firstSeq: number, lastSeq: number, run: string): void {
    // Only a saving: the frames stay if it fails (an outage fails the frames' own writes, reported there).
    this.host.data.coalesce(this.sessionId, firstSeq, lastSeq, run).catch(() => undefined);
  }

  historyChanged(messages: readonly HistoryMessage[]): void {
    const { data } = this.host;
    this.latestHistory = messages;
    this.settle(data.writeHistory(this.sessionId, messages));
    // A conversation is listed once it has a message, as of its latest change: by the records when
    // the store has them (the Redis index is then not written), else by the index.
    if (this.records) this.records.historyChanged(messages);
    else this.settle(data.index.listed(this.principal, this.sessionId, Date.now()));
  }

  usageChanged(usage: Usage): void {
    this.latestUsage = usage;
    this.settle(this.host.data.setUsage(this.sessionId, usage));
    this.records?.usageChanged(usage);
  }

  replyStarted(requestId: string): void {
    this.busy = requestId;
    this.settle(this.host.data.replyStarted(this.sessionId, requestId, REMEMBERED_REQUEST_IDS_IN_STORE), (lost) =>
      lost.requestIds.push(requestId),
    );
    this.records?.replyStarted(requestId);
  }

  replyEnded(): void {
    this.busy = undefined;
    this.settle(this.host.data.setBusy(this.sessionId, undefined));
    this.records?.replyEnded();
  }

  ended(): void {
    this.host.stoppedWriting(this.sessionId, this);
  }

  acknowledged(seq: number): void {
    this.settle(this.host.data.acknowledged(this.sessionId, seq));
    this.records?.acknowledged(seq);
  }

  /** Watches a write; if it fails, it counts as lost (`keep` notes what it wrote) until written again. */
  private settle(write: Promise<unknown>, keep?: (lost: NonNullable<RedisPersistence['lost']>) => void): void {
    write.catch((error: unknown) => {
      const lost = (this.lost ??= { frames: [], requestIds: [], failures: 0 });
      lost.failures++;
      keep?.(lost);
      this.host.writesLost(this.sessionId, this);
      this.host.reportFailure(error);
      this.fail();
    });
  }
}
