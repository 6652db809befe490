/**
 * The one seam of the core: what it needs from the world around it. A transport (one
 * connection's socket), a session store (where sessions live, in this process or shared by
 * several), and a logger. Adapters implement `Transport`; stores implement `SessionStore`; the
 * Node facade (`server/`) supplies a logger. Nothing here knows Node, `ws` or Redis. A store
 * (`src/store/`) imports this file alone of the core; it gathers ./session-ports.ts (transport,
 * logger, session, persistence, this process's sessions) and ./store-ports.ts (stores, shared
 * stores' records and coordination, records, bindings, quotas), which import nothing else of it.
 */
export type * from './session-ports';
export type * from './store-ports';
export { activeHistory, appendToStoredHistory } from './conversation-tree';
