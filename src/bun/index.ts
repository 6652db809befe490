/**
 * `llm-ws/bun`: the native Bun adapter. Serves a core (`makeServer` from `llm-ws/server`) on
 * `Bun.serve`'s own WebSockets: pass the adapter's `fetch` and `websocket` to `Bun.serve`.
 */
export {
  BunTransport,
  useBunServer,
  type BunAdapter,
  type BunAdapterOptions,
  type BunConnectionData,
  type BunServer,
  type BunUpgradeDecision,
  type BunWebSocket,
  type BunWebSocketHandlers,
} from '../adapters/bun';
