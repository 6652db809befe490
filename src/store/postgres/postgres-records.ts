/**
 * Session records in PostgreSQL (the `pg` driver, an optional peer dependency loaded when the
 * store opens): one row per session, one per frame, in tables named with a prefix. Queries go
 * over a pool of connections, so a connection the server ends (a restart) is replaced by the next
 * query; each session's queries wait for its previous ones, so its writes land in the order they
 * were made. Appends are batched into one multi-row INSERT per `batchMs`.
 */
import type { SessionRecords, StoredFrame } from '../../core/ports';
import { principalKey } from '../../util/same-principal';
import { decodeCursor, encodeCursor, messageCountOf, titleOf, usageJson } from '../records/summary';
import { postgresConnections } from './postgres-connections';
import {
  MAX_PAGE_SIZE,
  pageOf,
  principalJson,
  storedSession,
  withRequestId,
  type SessionRow,
  type SummaryRow,
} from '../records/stored-row';

/** How long appended frames wait to be written together, in ms. */
export const DEFAULT_POSTGRES_BATCH_MS = 20;
/** The prefix of the tables unless configured. */
export const DEFAULT_POSTGRES_TABLE_PREFIX = 'llmws_';

/** Options of {@link postgresRecords}. */
export interface PostgresRecordsOptions {
  /** `postgres://user@host:5432/db`. */
  readonly url: string;
  /** Prefix of the two tables (letters, digits, `_`). @default DEFAULT_POSTGRES_TABLE_PREFIX */
  readonly tablePrefix?: string;
  /** How long appended frames wait to be written together, in ms. @default DEFAULT_POSTGRES_BATCH_MS */
  readonly batchMs?: number;
  /** At most this many connections to the database at once (queries of different sessions run side by side). @default 4 */
  readonly maxConnections?: number;
}

const DEFAULT_MAX_CONNECTIONS = 4;

/** Opens session records in the PostgreSQL database at `options.url`, creating its tables if missing. */
export function postgresRecords(options: PostgresRecordsOptions): SessionRecords {
  const prefix = options.tablePrefix ?? DEFAULT_POSTGRES_TABLE_PREFIX;
  if (!/^[a-zA-Z_][a-zA-Z0-9_]{0,40}$/.test(prefix))
    throw new RangeError(`tablePrefix must be letters, digits and _ (at most 41), got "${prefix}"`);
  const sessions = `${prefix}sessions`;
  const frames = `${prefix}frames`;
  // Several processes may open the same tables at once (Redis-coordinated ones start together):
  // CREATE ... IF NOT EXISTS is not safe against a concurrent one, so they take turns (one query
  // string: one connection's BEGIN..COMMIT).
  const createTables = `
      BEGIN;
      SELECT pg_advisory_xact_lock(hashtext('llm-ws tables ${prefix}'));
      CREATE TABLE IF NOT EXISTS ${sessions} (
        id TEXT PRIMARY KEY,
        token_hash TEXT NOT NULL,
        principal TEXT NOT NULL,
        principal_key TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        title TEXT,
        auto_title TEXT NOT NULL DEFAULT '',
        message_count INTEGER NOT NULL DEFAULT 0,
        history TEXT NOT NULL DEFAULT '[]',
        busy_request TEXT,
        busy_from BIGINT,
        last_seq BIGINT NOT NULL DEFAULT 0,
        request_ids TEXT NOT NULL DEFAULT '[]',
        usage_total TEXT
      );
      -- Tables an earlier version made: the usage total came later (null until a reply reports usage).
      ALTER TABLE ${sessions} ADD COLUMN IF NOT EXISTS usage_total TEXT;
      CREATE INDEX IF NOT EXISTS ${prefix}sessions_by_principal ON ${sessions} (principal_key, updated_at DESC, id);
      CREATE TABLE IF NOT EXISTS ${frames} (
        session_id TEXT NOT NULL,
        seq BIGINT NOT NULL,
        text TEXT NOT NULL,
        PRIMARY KEY (session_id, seq)
      );
      COMMIT;`;

  const connections = postgresConnections({
    url: options.url,
    maxConnections: options.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
    setup: createTables,
  });
  const { run } = connections;
  let closed = false;

  /** Why a batch of the session's appends was not written: its next write or read rejects with it. */
  const lostAppends = new Map<string, Error>();
  /** Each session's last query: its next one starts after it, so its writes land in the order they were made. */
  const last = new Map<string, Promise<unknown>>();
  /** Queries sent and not yet answered: a close waits for them (`end()` would fail them). */
  const inFlight = new Set<Promise<unknown>>();
  /**
   * `text` once the queries before it of the sessions `sessionIds` are answered; unless it is a
   * batch of appends itself, it rejects instead if a batch of theirs was not written.
   */
  const inOrder = <R>(
    sessionIds: readonly string[],
    text: string,
    values: unknown[] = [],
    batch = false,
  ): Promise<R[]> => {
    const before = sessionIds.flatMap((id) => last.get(id) ?? []);
    const answered = Promise.allSettled(before).then(() => {
      if (!batch)
        for (const id of sessionIds) {
          const error = lostAppends.get(id);
          lostAppends.delete(id);
          if (error !== undefined) throw error;
        }
      return run<R>(text, values);
    });
    const settled = answered.then(
      () => undefined,
      () => undefined,
    );
    for (const id of sessionIds) last.set(id, settled);
    inFlight.add(settled);
    void settled.then(() => {
      inFlight.delete(settled);
      for (const id of sessionIds) if (last.get(id) === settled) last.delete(id);
    });
    return answered;
  };

  /** A read of every session (a list) after the queries sent before it. */
  const afterAll = <R>(text: string, values: unknown[]): Promise<R[]> => {
    if (closed) return Promise.reject(new Error('the PostgreSQL session records are closed'));
    void flush().catch(() => undefined);
    const answered = Promise.allSettled([...last.values()]).then(() => run<R>(text, values));
    const settled = answered.then(
      () => undefined,
      () => undefined,
    );
    inFlight.add(settled);
    void settled.then(() => inFlight.delete(settled));
    return answered;
  };

  let pending: { sessionId: string; seq: number; text: string }[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;

  /** Sends the batched appends (before whatever comes next of their sessions). */
  const flush = (): Promise<unknown> => {
    clearTimeout(timer);
    timer = undefined;
    if (pending.length === 0) return Promise.resolve();
    const batch = pending;
    pending = [];
    const values: unknown[] = [];
    const rows = batch.map(({ sessionId, seq, text }, i) => {
      values.push(sessionId, seq, text);
      return `($${i * 3 + 1}, $${i * 3 + 2}, $${i * 3 + 3})`;
    });
    const sessionIds = [...new Set(batch.map(({ sessionId }) => sessionId))];
    const written = inOrder(
      sessionIds,
      `WITH added AS (
         INSERT INTO ${frames} (session_id, seq, text) VALUES ${rows.join(', ')}
         ON CONFLICT (session_id, seq) DO UPDATE SET text = EXCLUDED.text
         RETURNING session_id, seq)
       UPDATE ${sessions} s SET last_seq = GREATEST(s.last_seq, m.seq)
       FROM (SELECT session_id, MAX(seq) AS seq FROM added GROUP BY session_id) m WHERE s.id = m.session_id`,
      values,
      true,
    );
    // Registered before the sessions' next queries start (they wait for this one).
    void written.catch((error: unknown) => {
      const lost = error instanceof Error ? error : new Error(String(error));
      for (const id of sessionIds) lostAppends.set(id, lost);
    });
    return written;
  };

  /** A write or read of session `sessionId` after the batched appends. */
  const after = <R>(sessionId: string, text: string, values: unknown[]): Promise<R[]> => {
    if (closed) return Promise.reject(new Error('the PostgreSQL session records are closed'));
    // Ordered behind the appends of the session: no need to wait for them first.
    void flush().catch(() => undefined);
    return inOrder<R>([sessionId], text, values);
  };

  const batchMs = options.batchMs ?? DEFAULT_POSTGRES_BATCH_MS;
  return {
    kind: 'postgres',
    create: async (sessionId, meta) => {
      await after(
        sessionId,
        `INSERT INTO ${sessions} (id, token_hash, principal, principal_key, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING`,
        [
          sessionId,
          meta.tokenHash,
          principalJson(meta.principal),
          principalKey(meta.principal),
          meta.createdAt,
          meta.updatedAt,
        ],
      );
    },
    read: async (sessionId) => {
      const [row] = await after<SessionRow>(sessionId, `SELECT * FROM ${sessions} WHERE id = $1`, [sessionId]);
      return row ? storedSession(row) : undefined;
    },
    append: (sessionId, seq, text) => {
      if (closed) return;
      pending.push({ sessionId, seq, text });
      // A failed batch is reported by the session's next write or read (see lostAppends).
      timer ??= setTimeout(() => void flush().catch(() => undefined), batchMs);
    },
    framesAfter: async (sessionId, afterSeq) => {
      const rows = await after<{ seq: string; text: string }>(
        sessionId,
        `SELECT seq, text FROM ${frames} WHERE session_id = $1 AND seq > $2 ORDER BY seq`,
        [sessionId, afterSeq],
      );
      const list: StoredFrame[] = rows.map((row) => ({ seq: Number(row.seq), text: row.text }));
      const first = list[0];
      if (first && first.seq > afterSeq + 1) return { gap: { oldestHeld: first.seq } };
      if (!first) {
        const [row] = await inOrder<{ last_seq: string }>(
          [sessionId],
          `SELECT last_seq FROM ${sessions} WHERE id = $1`,
          [sessionId],
        );
        const lastSeq = Number(row?.last_seq ?? 0);
        if (lastSeq > afterSeq) return { gap: { oldestHeld: lastSeq + 1 } };
      }
      return { frames: list };
    },
    writeHistory: async (sessionId, messages, at) => {
      await after(
        sessionId,
        `UPDATE ${sessions} SET history = $1, auto_title = $2, message_count = $3, updated_at = $4 WHERE id = $5`,
        [JSON.stringify(messages), titleOf(messages), messageCountOf(messages), at, sessionId],
      );
    },
    writeUsage: async (sessionId, usage) => {
      await after(sessionId, `UPDATE ${sessions} SET usage_total = $1 WHERE id = $2`, [usageJson(usage), sessionId]);
    },
    setBusy: async (sessionId, busy, rememberRequestId) => {
      await after(sessionId, `UPDATE ${sessions} SET busy_request = $1, busy_from = $2 WHERE id = $3`, [
        busy?.requestId ?? null,
        busy?.fromSeq ?? null,
        sessionId,
      ]);
      if (rememberRequestId === undefined) return;
      const [row] = await inOrder<{ request_ids: string }>(
        [sessionId],
        `SELECT request_ids FROM ${sessions} WHERE id = $1`,
        [sessionId],
      );
      if (row)
        await inOrder([sessionId], `UPDATE ${sessions} SET request_ids = $1 WHERE id = $2`, [
          withRequestId(row.request_ids, rememberRequestId),
          sessionId,
        ]);
    },
    trim: async (sessionId, seq) => {
      await after(sessionId, `DELETE FROM ${frames} WHERE session_id = $1 AND seq <= $2`, [sessionId, seq]);
    },
    setToken: async (sessionId, tokenHash) => {
      await after(sessionId, `UPDATE ${sessions} SET token_hash = $1 WHERE id = $2`, [tokenHash, sessionId]);
    },
    list: async (principal, { limit, cursor }) => {
      const size = Math.max(1, Math.min(limit, MAX_PAGE_SIZE));
      const from = decodeCursor(cursor);
      const select = `SELECT id, COALESCE(title, auto_title) AS title, created_at, updated_at, message_count, usage_total
        FROM ${sessions} WHERE principal_key = $1 AND (message_count > 0 OR title IS NOT NULL)`;
      const rows = from
        ? await afterAll<SummaryRow>(
            `${select} AND (updated_at < $2 OR (updated_at = $2 AND id > $3)) ORDER BY updated_at DESC, id ASC LIMIT $4`,
            [principalKey(principal), from.updatedAt, from.id, size + 1],
          )
        : await afterAll<SummaryRow>(`${select} ORDER BY updated_at DESC, id ASC LIMIT $2`, [
            principalKey(principal),
            size + 1,
          ]);
      return pageOf(rows, size, encodeCursor);
    },
    rename: async (sessionId, title, at) => {
      await after(sessionId, `UPDATE ${sessions} SET title = $1, updated_at = $2 WHERE id = $3`, [
        title,
        at,
        sessionId,
      ]);
    },
    remove: async (sessionId) => {
      await after(sessionId, `DELETE FROM ${frames} WHERE session_id = $1`, [sessionId]);
      await inOrder([sessionId], `DELETE FROM ${sessions} WHERE id = $1`, [sessionId]);
    },
    health: () => connections.health(),
    close: async () => {
      if (closed) return;
      void flush().catch(() => undefined);
      closed = true;
      await Promise.allSettled([...inFlight]);
      await connections.close();
    },
  };
}

/** Drops the tables of `tablePrefix` (tests, and a user who wants every conversation gone). */
export async function dropPostgresRecords(url: string, tablePrefix: string): Promise<void> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`DROP TABLE IF EXISTS ${tablePrefix}frames, ${tablePrefix}sessions`);
  } finally {
    await client.end();
  }
}
