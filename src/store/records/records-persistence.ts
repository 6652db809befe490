import { activeHistory, type SessionMeta, type SessionPersistence, type SessionRecords } from '../../core/ports';
import type { HistoryMessage, Usage } from '../../protocol/codecs';

/** What a session's persistence needs from its directory. */
export interface RecordsHost {
  readonly records: SessionRecords;
  /** Whether the records take writes now. */
  available(): boolean;
  /** A write failed: logged, and the store counts as unavailable until one succeeds. */
  reportFailure(error: unknown): void;
  /** Whether the server is stopping: what the stop tears down must not be written (a cut reply stays busy). */
  readonly closing: boolean;
}

/** Frames a session without a record keeps for it, at most (the oldest go first). */
const MAX_EARLY_FRAMES = 64;

/**
 * The persistence hooks of a session kept as records: each frame, history change, usage total
 * and reply start and end goes to the records as it happens, not awaited (the records keep a session's writes in
 * order). A session's record is written with its first write of a conversation (a message, a
 * reply): a session whose frames only answered controls or refusals leaves nothing behind (no
 * row its owner could neither see in the list nor delete); those frames wait here and are
 * written with the record if it comes.
 */
export class RecordsPersistence implements SessionPersistence {
  private created: boolean;
  private failed: (() => void) | undefined;
  /** The seq of the newest frame appended. */
  private seq: number;
  /** The first seq of the running reply: frames from it are kept until it ends (an interrupted reply is rebuilt from them). */
  private replyFromSeq: number | undefined;
  /** Frames appended before the record was written (none once it is). */
  private early: { seq: number; text: string }[] = [];

  constructor(
    private readonly host: RecordsHost,
    private readonly sessionId: string,
    /** The record to write first, for a new session; none for one read from the records. */
    private readonly meta: SessionMeta | undefined,
    readonly lastSeq: number,
    readonly history: readonly HistoryMessage[],
    readonly requestIds: readonly string[],
    /** The usage total as stored. */
    readonly usage?: Usage,
  ) {
    this.created = meta === undefined;
    this.seq = lastSeq;
  }

  available(): boolean {
    return this.host.available();
  }

  onFailed(listener: () => void): void {
    this.failed = listener;
  }

  frameAppended(seq: number, text: string): void {
    this.seq = seq;
    if (this.host.closing) return;
    if (!this.created) {
      this.early.push({ seq, text });
      if (this.early.length > MAX_EARLY_FRAMES) this.early.shift();
      return;
    }
    // Every chunk's path: no promise per frame (a failed batch fails the next write).
    this.host.records.append(this.sessionId, seq, text);
  }

  historyChanged(messages: readonly HistoryMessage[]): void {
    // An empty history (clear_history) of a session never written is nothing to keep: the
    // stored form of an empty tree is its active-branch marker alone.
    if (!this.created && messages.length <= 1 && activeHistory(messages).length === 0) return;
    this.write(() => this.host.records.writeHistory(this.sessionId, messages, Date.now()));
  }

  usageChanged(usage: Usage): void {
    const { records } = this.host;
    if (records.writeUsage) this.write(() => records.writeUsage?.(this.sessionId, usage) ?? Promise.resolve());
  }

  replyStarted(requestId: string): void {
    this.replyFromSeq = this.seq + 1;
    this.write(() => this.host.records.setBusy(this.sessionId, { requestId, fromSeq: this.seq + 1 }, requestId));
  }

  replyEnded(): void {
    this.replyFromSeq = undefined;
    this.write(() => this.host.records.setBusy(this.sessionId, undefined));
  }

  acknowledged(seq: number): void {
    const upTo = this.replyFromSeq === undefined ? seq : Math.min(seq, this.replyFromSeq - 1);
    if (upTo > 0 && this.created) this.write(() => this.host.records.trim(this.sessionId, upTo));
  }

  /** Runs a write of this session (its record first, if not yet written), reporting a failure. */
  write(write: () => Promise<void>): void {
    if (this.host.closing) return;
    if (!this.created && this.meta) {
      this.created = true;
      this.settle(this.host.records.create(this.sessionId, this.meta));
      for (const { seq, text } of this.early) this.host.records.append(this.sessionId, seq, text);
      this.early = [];
    }
    this.settle(write());
  }

  private settle(write: Promise<void>): void {
    write.catch((error: unknown) => {
      this.host.reportFailure(error);
      this.failed?.();
    });
  }
}
