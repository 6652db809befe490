/**
 * The embedded store of `llm-ws serve`: sessions kept in a SQLite file, so conversations outlive
 * the process (one process per file).
 */
import { join } from 'node:path';
import type { SessionStore } from '../../core/ports';
import { createRecordsDirectory } from '../records/records-directory';
import { sqliteRecords, type SqliteRecordsOptions } from './sqlite-records';

export { sqliteRecords, DEFAULT_SQLITE_BATCH_MS, type SqliteRecordsOptions } from './sqlite-records';

/** The database file `llm-ws serve` keeps under its `--data-dir`. */
export const SQLITE_FILE_NAME = 'llm-ws.sqlite';

/**
 * Keeps sessions in the SQLite file at `options.path` (`node:sqlite`, Node ≥ 22.13): conversations
 * survive a restart or a crash of the process, and can be listed, opened, renamed and deleted.
 * The file is opened when a server starts and closed when it stops. One server process per file.
 *
 * @example
 * new WSServer({ store: sqliteStore({ path: './.llm-ws/llm-ws.sqlite' }) })
 */
export function sqliteStore(options: SqliteRecordsOptions): SessionStore {
  return { kind: 'sqlite', open: (context) => createRecordsDirectory(context, sqliteRecords(options)) };
}

/** The SQLite file of data directory `dir`. */
export const sqlitePathIn = (dir: string): string => join(dir, SQLITE_FILE_NAME);
