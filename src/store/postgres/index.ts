/**
 * Sessions kept in PostgreSQL: conversations outlive every server process (`pg`, an optional
 * peer dependency: `npm install pg`).
 */
import type { SessionStore } from '../../core/ports';
import { createRecordsDirectory } from '../records/records-directory';
import { postgresRecords, type PostgresRecordsOptions } from './postgres-records';

export {
  postgresRecords,
  dropPostgresRecords,
  DEFAULT_POSTGRES_BATCH_MS,
  DEFAULT_POSTGRES_TABLE_PREFIX,
  type PostgresRecordsOptions,
} from './postgres-records';

/**
 * Keeps sessions in PostgreSQL: conversations survive a restart or a crash, and can be listed,
 * opened, renamed and deleted. One server process per set of tables: a session is held by the
 * process a client is on, and its records written through (no coordination between processes).
 *
 * @example
 * new WSServer({ store: postgresStore({ url: 'postgres://postgres@127.0.0.1:5432/llmws' }) })
 */
export function postgresStore(options: PostgresRecordsOptions): SessionStore {
  return { kind: 'postgres', open: (context) => createRecordsDirectory(context, postgresRecords(options)) };
}
