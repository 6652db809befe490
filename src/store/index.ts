/**
 * Session stores: where a server keeps its sessions (exported from `llm-ws/server`).
 */
export { memoryStore, createMemorySessionDirectory, newSessionIdentity, type MemorySessionDirectory } from './memory-store';
export type { SessionStore, SessionDirectory, SessionStoreContext, SessionInit, StoreHealth } from './types';
export * from './redis';
