/**
 * The part of Node's built-in `node:sqlite` (Node ≥ 22.13, no flag, no native build) the SQLite
 * store uses, typed here: the repo's `@types/node` is Node 20's, which has no `node:sqlite`.
 */
import { closeSync, existsSync, openSync } from 'node:fs';

/** A value SQLite takes or gives back. */
export type SqliteValue = null | number | bigint | string | Uint8Array;

/** A prepared statement (`StatementSync`). */
export interface SqliteStatement {
  run(...parameters: SqliteValue[]): { changes: number | bigint; lastInsertRowid: number | bigint };
  get(...parameters: SqliteValue[]): Record<string, SqliteValue> | undefined;
  all(...parameters: SqliteValue[]): Record<string, SqliteValue>[];
}

/** A database connection (`DatabaseSync`). */
export interface SqliteDatabase {
  exec(sql: string): void;
  prepare(sql: string): SqliteStatement;
  close(): void;
}

type NodeSqlite = { DatabaseSync: new (path: string) => SqliteDatabase };

/**
 * `node:sqlite`, loaded without the "SQLite is an experimental feature" warning Node 22 prints on
 * its first load: every `llm-ws serve` start printed it, though the store depends on nothing that
 * changed since. Only that one warning is held back, only while the module loads.
 */
function loadSqlite(): NodeSqlite | undefined {
  const original = Reflect.get(process, 'emitWarning');
  process.emitWarning = (warning: string | Error, ...rest: unknown[]): void => {
    const text = typeof warning === 'string' ? warning : warning.message;
    if (/SQLite is an experimental feature/.test(text)) return;
    Reflect.apply(original, process, [warning, ...rest]);
  };
  try {
    return process.getBuiltinModule('node:sqlite') as NodeSqlite | undefined;
  } finally {
    process.emitWarning = original;
  }
}

/**
 * Opens the SQLite database file at `path`, created if missing readable by its owner alone
 * (0600: it holds every conversation); SQLite gives its -wal and -shm files the same mode.
 */
export function openDatabase(path: string): SqliteDatabase {
  const sqlite = loadSqlite();
  if (!sqlite)
    throw new Error(`node:sqlite is missing: the SQLite store needs Node 22.13 or later (this is ${process.version})`);
  if (path !== ':memory:' && !existsSync(path)) closeSync(openSync(path, 'a', 0o600));
  return new sqlite.DatabaseSync(path);
}
