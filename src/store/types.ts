/**
 * Where sessions live: in this process (the default), or in a store several server processes
 * share, so a client can reconnect to any of them. The contract itself is the core's session
 * store port (`core/ports.ts`); this module names it for the stores.
 */
export type {
  ClaimResult,
  LocalSessions,
  SessionBudget,
  SessionDirectory,
  SessionInit,
  SessionPersistence,
  SessionStore,
  SessionStoreContext,
  RecordsHealth,
  StoreHealth,
} from '../core/ports';
