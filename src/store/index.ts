/**
 * Session stores: where a server keeps its sessions (exported from `llm-ws/server`).
 */
export { memoryStore, createMemorySessionDirectory, type MemorySessionDirectory } from './memory-store';
export type {
  SessionStore,
  SessionDirectory,
  SessionStoreContext,
  SessionInit,
  SessionBudget,
  StoreHealth,
} from './types';
export * from './redis';
