/**
 * A store several simulated server processes share, in memory: what a third party writes to run
 * the core's shared sessions (claim, follow, takeover, push, broadcast) on a database of its own.
 * One {@link MemoryHub} stands for the shared database and its bus; `hub.store()` is the
 * `SessionStore` of one process. It imports the core's ports alone, as such a store would. Not
 * simulated: an outage of the store itself (every call answers while its process lives).
 */
import { createHash } from 'node:crypto';
import { filter, Observable, Subject } from 'rxjs';
import type {
  Coordination,
  CoordinationMessage,
  LoadedSession,
  SessionPersistence,
  SessionStore,
  SharedSessionRecords,
  SharedStoreParts,
  StoredFrame,
} from '../../src/core/ports';
import type { HistoryMessage, Usage } from '../../src/protocol/codecs';

/** `user_message` ids a record remembers (a resend after a reconnect is of a recent one). */
const REMEMBERED_REQUEST_IDS = 64;

/** One session as the hub keeps it: meta, the writer's state, and its frame log. */
interface SessionRecord {
  tokenHash: string;
  principal: unknown;
  busy?: string | undefined;
  usage?: Usage;
  history: HistoryMessage[];
  requestIds: string[];
  /** The frames kept, oldest first (acknowledged or past the replay limit ones are trimmed). */
  log: StoredFrame[];
  /** The seq of the newest frame ever appended, even if trimmed since. */
  lastSeq: number;
}

/** Settings of {@link createMemoryHub}. */
export interface MemoryHubOptions {
  /** How long a follow waits without a frame before it emits an empty batch (the follower then checks the writer). @default 20 */
  readonly idleMs?: number;
}

/** The shared database and bus of the simulated processes (see the module's comment). */
export interface MemoryHub {
  /** The store of one more process, named `processId` (`p1`, `p2`... by default) once opened. */
  store(processId?: string): SessionStore;
  /** Process `processId` stops answering: its lease is gone, it no longer hears the bus, and its writes are lost. */
  kill(processId: string): void;
  /** Deletes a session's every record and tells every process (`deleted`), as a conversation's deletion does. */
  delete(sessionId: string): Promise<void>;
  /** The frames the hub keeps of `sessionId`, oldest first. */
  frames(sessionId: string): readonly StoredFrame[];
  /** Who owns `sessionId` now ('' for nobody). */
  ownerOf(sessionId: string): string;
  /** What the processes reported as failures (`SharedStoreParts.reportFailure`). */
  readonly failures: unknown[];
  /** The bus's messages, each once every process heard it, oldest first. */
  readonly delivered: CoordinationMessage[];
}

const copy = <T>(value: T): T => (value === undefined ? value : structuredClone(value));

/** A new hub (see {@link MemoryHub}). */
export function createMemoryHub(options: MemoryHubOptions = {}): MemoryHub {
  const idleMs = options.idleMs ?? 20;
  const records = new Map<string, SessionRecord>();
  const owners = new Map<string, string>();
  const alive = new Set<string>();
  const bus = new Subject<CoordinationMessage>();
  /** Told of each append, by session, so follows read on. */
  const appended = new Map<string, Set<() => void>>();
  const failures: unknown[] = [];
  const delivered: CoordinationMessage[] = [];
  let opened = 0;

  const notify = (sessionId: string): void => appended.get(sessionId)?.forEach((listener) => listener());
  // Like pub/sub: delivered later, to every process (the sender too).
  const deliver = (message: CoordinationMessage): void =>
    queueMicrotask(() => {
      bus.next(copy(message));
      delivered.push(message);
    });

  function framesAfter(
    sessionId: string,
    afterSeq: number,
  ): { frames: StoredFrame[] } | { gap: { oldestHeld: number } } {
    const frames = (records.get(sessionId)?.log ?? []).filter((frame) => frame.seq > afterSeq);
    const first = frames[0];
    if (first && first.seq > afterSeq + 1) return { gap: { oldestHeld: first.seq } };
    return { frames };
  }

  function follow(sessionId: string, afterSeq: number, me: string): Observable<readonly StoredFrame[]> {
    return new Observable((subscriber) => {
      let upTo = afterSeq;
      let scheduled = false;
      let idle: ReturnType<typeof setTimeout> | undefined;
      const emit = (frames: readonly StoredFrame[]): void => {
        clearTimeout(idle);
        if (subscriber.closed) return;
        // A process that stopped answering reads nothing more.
        if (alive.has(me)) subscriber.next(frames);
        idle = setTimeout(() => emit([]), idleMs);
      };
      const read = (): void => {
        if (scheduled) return;
        scheduled = true;
        // Batched and later, as a blocking read answers.
        queueMicrotask(() => {
          scheduled = false;
          // Past trimmed frames too (as XREAD reads on from its last id): the follower sees the skip.
          const frames = (records.get(sessionId)?.log ?? []).filter((frame) => frame.seq > upTo);
          if (frames.length === 0 || subscriber.closed) return;
          upTo = frames[frames.length - 1]!.seq;
          emit(frames);
        });
      };
      const listeners = appended.get(sessionId) ?? new Set();
      appended.set(sessionId, listeners.add(read));
      read();
      idle = setTimeout(() => emit([]), idleMs);
      return () => {
        clearTimeout(idle);
        listeners.delete(read);
      };
    });
  }

  /** The persistence of a session process `me` writes: every change goes into its record while `me` is alive. */
  function persistence(
    sessionId: string,
    me: string,
    record: SessionRecord,
    lastSeq: number,
    maxFrames: number,
  ): SessionPersistence {
    const write = (change: () => void): void => {
      if (alive.has(me) && records.get(sessionId) === record) change();
    };
    return {
      lastSeq,
      history: copy(record.history),
      requestIds: [...record.requestIds],
      ...(record.usage ? { usage: copy(record.usage) } : {}),
      available: () => alive.has(me),
      frameAppended: (seq, text) =>
        write(() => {
          record.log.push({ seq, text });
          record.lastSeq = Math.max(record.lastSeq, seq);
          // Trimmed to what a resume may replay, as a shared store keeps its log.
          if (record.log.length > maxFrames) record.log.splice(0, record.log.length - maxFrames);
          notify(sessionId);
        }),
      historyChanged: (messages) => write(() => (record.history = copy([...messages]))),
      usageChanged: (usage) => write(() => (record.usage = copy(usage))),
      replyStarted: (requestId) =>
        write(() => {
          record.busy = requestId;
          record.requestIds = [requestId, ...record.requestIds].slice(0, REMEMBERED_REQUEST_IDS);
        }),
      replyEnded: () => write(() => (record.busy = undefined)),
      acknowledged: (seq) => write(() => (record.log = record.log.filter((frame) => frame.seq > seq))),
    };
  }

  function open(me: string, replayMaxMessages: number): SharedStoreParts {
    alive.add(me);
    const coordination: Coordination = {
      processId: me,
      owner: async (sessionId) => {
        const id = owners.get(sessionId) ?? '';
        return { id, alive: id !== '' && alive.has(id) };
      },
      claim: async (sessionId, expectedOwner) => {
        if (!alive.has(me) || (owners.get(sessionId) ?? '') !== expectedOwner) return false;
        owners.set(sessionId, me);
        return true;
      },
      release: async (sessionId) => {
        if (!alive.has(me) || owners.get(sessionId) !== me) return;
        owners.set(sessionId, '');
        deliver({ t: 'released', s: sessionId });
      },
      follow: (sessionId, afterSeq) => follow(sessionId, afterSeq, me),
      publish: async (message) => {
        if (!alive.has(me)) throw new Error(`process ${me} no longer reaches the hub`);
        deliver(message);
      },
      messages: bus.pipe(filter(() => alive.has(me))),
    };
    const sessionRecords: SharedSessionRecords = {
      hashToken: (token) => createHash('sha256').update(token).digest('base64url'),
      readMeta: async (sessionId) => {
        const record = records.get(sessionId);
        if (!record) return undefined;
        const { tokenHash, principal, busy, usage } = record;
        return { tokenHash, principal: copy(principal), busy, ...(usage ? { usage: copy(usage) } : {}) };
      },
      framesAfter: async (sessionId, afterSeq) => framesAfter(sessionId, afterSeq),
      create: (sessionId, resumeToken, principal) => {
        const record: SessionRecord = {
          tokenHash: sessionRecords.hashToken(resumeToken),
          principal: copy(principal),
          history: [],
          requestIds: [],
          log: [],
          lastSeq: 0,
        };
        if (alive.has(me)) {
          records.set(sessionId, record);
          owners.set(sessionId, me);
        }
        return persistence(sessionId, me, record, 0, replayMaxMessages);
      },
      load: async (sessionId, meta, clientSeq): Promise<LoadedSession> => {
        const record = records.get(sessionId);
        if (!record) throw new Error(`session ${sessionId} has no record`);
        const written = persistence(sessionId, me, record, Math.max(record.lastSeq, clientSeq), replayMaxMessages);
        const { busy } = meta;
        const endInterrupted =
          busy === undefined
            ? undefined
            : (send: Parameters<NonNullable<LoadedSession['endInterrupted']>>[0]): void => {
                send({
                  type: 'error',
                  data: {
                    code: 'reply_interrupted',
                    message: 'the process running this reply went away: send the message again',
                    retryable: true,
                    requestId: busy,
                  },
                });
                send({ type: 'status', data: { status: 'idle', requestId: busy } });
                written.replyEnded(busy);
              };
        return {
          persistence: written,
          storedSeq: record.lastSeq,
          durable: false,
          ...(endInterrupted ? { endInterrupted } : {}),
        };
      },
      remove: (sessionId) => {
        if (!alive.has(me)) return;
        records.delete(sessionId);
        owners.delete(sessionId);
      },
    };
    return {
      coordination,
      records: sessionRecords,
      reportFailure: (error) => failures.push(error),
      available: () => alive.has(me),
      health: () => (alive.has(me) ? 'ok' : 'unavailable'),
      // Its lease goes with it: the others may take its sessions at once.
      close: async () => void alive.delete(me),
    };
  }

  return {
    store: (processId) => ({
      kind: 'memory-shared',
      open: (context) => open(processId ?? `p${++opened}`, context.replayMaxMessages),
    }),
    kill: (processId) => void alive.delete(processId),
    delete: async (sessionId) => {
      records.delete(sessionId);
      owners.delete(sessionId);
      deliver({ t: 'deleted', s: sessionId });
    },
    frames: (sessionId) => [...(records.get(sessionId)?.log ?? [])],
    ownerOf: (sessionId) => owners.get(sessionId) ?? '',
    failures,
    delivered,
  };
}
