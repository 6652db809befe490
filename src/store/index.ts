/**
 * Session stores: where a server keeps its sessions (exported from `llm-ws/server`).
 */
export { memoryQuotaCounter } from './memory-quota';
export { memoryStore, createMemorySessionDirectory, type MemorySessionDirectory } from './memory-store';
export type {
  SessionStore,
  SessionDirectory,
  SessionStoreContext,
  SessionInit,
  SessionBudget,
  RecordsHealth,
  StoreHealth,
} from './types';
export * from './redis';
export { sqliteStore, sqliteRecords, DEFAULT_SQLITE_BATCH_MS, type SqliteRecordsOptions } from './sqlite';
export { createRecordsDirectory } from './records/records-directory';
export {
  postgresStore,
  postgresRecords,
  DEFAULT_POSTGRES_BATCH_MS,
  DEFAULT_POSTGRES_TABLE_PREFIX,
  type PostgresRecordsOptions,
} from './postgres';
