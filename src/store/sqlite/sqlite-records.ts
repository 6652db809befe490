/**
 * Session records in an embedded SQLite file (`node:sqlite`): one row per session, one per
 * frame (appended in order to a log, found through an index by session and seq). WAL mode, `synchronous=NORMAL`: a commit survives a crash of the process (not of the
 * machine's power). Appends are batched, one transaction per `batchMs`; every other write (a
 * history change, a reply's start) first commits the appends before it, so each session's writes
 * land in order and a user's message is on disk before its reply starts.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { HistoryMessage } from '../../protocol/codecs';
import type { SessionMeta, SessionRecords, StoredFrame } from '../../core/ports';
import { principalKey } from '../../util/same-principal';
import { decodeCursor, encodeCursor, messageCountOf, titleOf, usageJson } from '../records/summary';
import {
  MAX_PAGE_SIZE,
  pageOf,
  principalJson,
  storedSession,
  withRequestId,
  type SessionRow,
  type SummaryRow,
} from '../records/stored-row';
import { openDatabase, type SqliteDatabase, type SqliteStatement, type SqliteValue } from './node-sqlite';

/** Frames one INSERT writes at most (SQLite takes up to 32766 parameters). */
const ROWS_PER_INSERT = 200;
/** `(?, ?, ?), ...` for `rows` rows. */
const placeholders = (rows: number): string => Array.from({ length: rows }, () => '(?, ?, ?)').join(', ');

/**
 * How long appended frames wait to be written together, in ms. A commit costs SQLite about an
 * index page per session with frames in it, whatever their number: the more of a session's
 * frames share a commit, the less each costs (bench/NOTES.md, "SQLite frames"). A process killed
 * mid-reply loses at most this much of the reply's text on disk.
 */
export const DEFAULT_SQLITE_BATCH_MS = 250;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS llmws_sessions (
  id TEXT PRIMARY KEY,
  token_hash TEXT NOT NULL,
  principal TEXT NOT NULL,
  principal_key TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  title TEXT,
  auto_title TEXT NOT NULL DEFAULT '',
  message_count INTEGER NOT NULL DEFAULT 0,
  history TEXT NOT NULL DEFAULT '[]',
  busy_request TEXT,
  busy_from INTEGER,
  last_seq INTEGER NOT NULL DEFAULT 0,
  request_ids TEXT NOT NULL DEFAULT '[]',
  usage_total TEXT
);
CREATE INDEX IF NOT EXISTS llmws_sessions_by_principal ON llmws_sessions (principal_key, updated_at DESC, id);
CREATE TABLE IF NOT EXISTS llmws_frame_log (
  session_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  text TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS llmws_frame_log_by_session ON llmws_frame_log (session_id, seq);`;

/**
 * Brings a database an earlier version made up to this one: the usage total (null until a reply
 * reports usage), and the frames moved from `llmws_frames` (keyed by session: a commit dirtied a
 * page per session) to `llmws_frame_log` (appended in order; bench/sqlite-frames.ts).
 */
function migrate(db: SqliteDatabase): void {
  const columns = db.prepare("SELECT name FROM pragma_table_info('llmws_sessions')").all();
  if (!columns.some((column) => column.name === 'usage_total'))
    db.exec('ALTER TABLE llmws_sessions ADD COLUMN usage_total TEXT');
  if (db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'llmws_frames'").get()) {
    db.exec('BEGIN');
    try {
      db.exec(
        'INSERT OR REPLACE INTO llmws_frame_log (session_id, seq, text) SELECT session_id, seq, text FROM llmws_frames ORDER BY session_id, seq',
      );
      db.exec('DROP TABLE llmws_frames');
      db.exec('COMMIT');
    } catch (error) {
      db.exec('ROLLBACK');
      throw error;
    }
  }
}

/** Options of {@link sqliteRecords}. */
export interface SqliteRecordsOptions {
  /** The database file (its directory is created if missing). */
  readonly path: string;
  /** How long appended frames wait to be written together, in ms. @default DEFAULT_SQLITE_BATCH_MS */
  readonly batchMs?: number;
}

/** Opens (creating if missing) session records in the SQLite file at `options.path`. */
export function sqliteRecords(options: SqliteRecordsOptions): SessionRecords {
  // The directories it creates are its owner's alone, as the file is (node-sqlite.ts).
  if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true, mode: 0o700 });
  const db = openDatabase(options.path);
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;');
  db.exec(SCHEMA);
  migrate(db);
  const statements = new Map<string, SqliteStatement>();
  const sql = (text: string): SqliteStatement => {
    let statement = statements.get(text);
    if (!statement) statements.set(text, (statement = db.prepare(text)));
    return statement;
  };

  let pending: { sessionId: string; seq: number; text: string }[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;

  /**
   * Commits the batched appends. A session's newest seq is its newest frame's, or `last_seq` once
   * its frames were trimmed (set by `trim`): no row of the sessions is written per batch.
   */
  const flush = (): void => {
    clearTimeout(timer);
    timer = undefined;
    if (pending.length === 0) return;
    const batch = pending;
    pending = [];
    db.exec('BEGIN');
    try {
      // Up to ROWS_PER_INSERT rows a statement: one call into SQLite for many frames.
      for (let at = 0; at < batch.length; at += ROWS_PER_INSERT) {
        const rows = batch.slice(at, at + ROWS_PER_INSERT);
        const values: SqliteValue[] = [];
        for (const { sessionId, seq, text } of rows) values.push(sessionId, seq, text);
        sql(`INSERT OR REPLACE INTO llmws_frame_log (session_id, seq, text) VALUES ${placeholders(rows.length)}`).run(
          ...values,
        );
      }
      db.exec('COMMIT');
    } catch (error) {
      db.exec('ROLLBACK');
      throw error;
    }
  };

  /** The seq of the newest frame kept of a session (0 for none). */
  const newestFrame = (sessionId: string): number =>
    Number(sql('SELECT MAX(seq) AS seq FROM llmws_frame_log WHERE session_id = ?').get(sessionId)?.seq ?? 0);

  /** A write or read: after the batched appends, its error a rejection. */
  const now = <T>(work: () => T): Promise<T> => {
    try {
      if (closed) throw new Error('the SQLite session records are closed');
      flush();
      return Promise.resolve(work());
    } catch (error) {
      return Promise.reject(error);
    }
  };

  const batchMs = options.batchMs ?? DEFAULT_SQLITE_BATCH_MS;
  return {
    kind: 'sqlite',
    create: (sessionId, meta: SessionMeta) =>
      now(() => {
        sql(
          `INSERT OR IGNORE INTO llmws_sessions (id, token_hash, principal, principal_key, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?)`,
        ).run(
          sessionId,
          meta.tokenHash,
          principalJson(meta.principal),
          principalKey(meta.principal),
          meta.createdAt,
          meta.updatedAt,
        );
      }),
    read: (sessionId) =>
      now(() => {
        const row = sql('SELECT * FROM llmws_sessions WHERE id = ?').get(sessionId);
        if (!row) return undefined;
        const stored = storedSession(row as unknown as SessionRow);
        return { ...stored, lastSeq: Math.max(stored.lastSeq, newestFrame(sessionId)) };
      }),
    append: (sessionId, seq, text) => {
      if (closed) return;
      pending.push({ sessionId, seq, text });
      timer ??= setTimeout(() => {
        try {
          flush();
        } catch {
          // Reported by the next write or read, which flushes again (the frames stay pending no more: they are lost).
        }
      }, batchMs);
    },
    framesAfter: (sessionId, afterSeq) =>
      now(() => {
        const rows = sql('SELECT seq, text FROM llmws_frame_log WHERE session_id = ? AND seq > ? ORDER BY seq').all(
          sessionId,
          afterSeq,
        ) as unknown as StoredFrame[];
        const first = rows[0];
        if (first && first.seq > afterSeq + 1) return { gap: { oldestHeld: first.seq } };
        if (!first) {
          const row = sql('SELECT last_seq FROM llmws_sessions WHERE id = ?').get(sessionId);
          const lastSeq = Number(row?.last_seq ?? 0);
          if (lastSeq > afterSeq) return { gap: { oldestHeld: lastSeq + 1 } };
          // (With no frame left, the newest seq is `last_seq`: trim keeps it.)
        }
        return { frames: rows.map(({ seq, text }) => ({ seq, text })) };
      }),
    writeHistory: (sessionId, messages: readonly HistoryMessage[], at) =>
      now(() => {
        sql(
          'UPDATE llmws_sessions SET history = ?, auto_title = ?, message_count = ?, updated_at = ? WHERE id = ?',
        ).run(JSON.stringify(messages), titleOf(messages), messageCountOf(messages), at, sessionId);
      }),
    writeUsage: (sessionId, usage) =>
      now(() => {
        sql('UPDATE llmws_sessions SET usage_total = ? WHERE id = ?').run(usageJson(usage), sessionId);
      }),
    setBusy: (sessionId, busy, rememberRequestId) =>
      now(() => {
        sql('UPDATE llmws_sessions SET busy_request = ?, busy_from = ? WHERE id = ?').run(
          busy?.requestId ?? null,
          busy?.fromSeq ?? null,
          sessionId,
        );
        if (rememberRequestId === undefined) return;
        const row = sql('SELECT request_ids FROM llmws_sessions WHERE id = ?').get(sessionId);
        if (row)
          sql('UPDATE llmws_sessions SET request_ids = ? WHERE id = ?').run(
            withRequestId(String(row.request_ids), rememberRequestId),
            sessionId,
          );
      }),
    trim: (sessionId, seq) =>
      now(() => {
        // The newest seq outlives its frames.
        sql('UPDATE llmws_sessions SET last_seq = MAX(last_seq, ?) WHERE id = ?').run(seq, sessionId);
        sql('DELETE FROM llmws_frame_log WHERE session_id = ? AND seq <= ?').run(sessionId, seq);
      }),
    setToken: (sessionId, tokenHash) =>
      now(() => {
        sql('UPDATE llmws_sessions SET token_hash = ? WHERE id = ?').run(tokenHash, sessionId);
      }),
    list: (principal, { limit, cursor }) =>
      now(() => {
        const size = Math.max(1, Math.min(limit, MAX_PAGE_SIZE));
        const after = decodeCursor(cursor);
        const select = `SELECT id, COALESCE(title, auto_title) AS title, created_at, updated_at, message_count, usage_total
          FROM llmws_sessions WHERE principal_key = ? AND (message_count > 0 OR title IS NOT NULL)`;
        const order = 'ORDER BY updated_at DESC, id ASC LIMIT ?';
        const rows = after
          ? sql(`${select} AND (updated_at < ? OR (updated_at = ? AND id > ?)) ${order}`).all(
              principalKey(principal),
              after.updatedAt,
              after.updatedAt,
              after.id,
              size + 1,
            )
          : sql(`${select} ${order}`).all(principalKey(principal), size + 1);
        return pageOf(rows as unknown as SummaryRow[], size, encodeCursor);
      }),
    rename: (sessionId, title, at) =>
      now(() => {
        sql('UPDATE llmws_sessions SET title = ?, updated_at = ? WHERE id = ?').run(title, at, sessionId);
      }),
    remove: (sessionId) =>
      now(() => {
        sql('DELETE FROM llmws_frame_log WHERE session_id = ?').run(sessionId);
        sql('DELETE FROM llmws_sessions WHERE id = ?').run(sessionId);
      }),
    close: () => {
      if (closed) return Promise.resolve();
      try {
        flush();
      } finally {
        closed = true;
        db.close();
      }
      return Promise.resolve();
    },
  };
}
