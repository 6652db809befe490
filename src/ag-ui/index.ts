/**
 * `llm-ws/ag-ui`: {@link LlmWsAgent}, an AG-UI agent (`@ag-ui/client`, an optional peer) over
 * llm-ws's WebSocket, with resume. Browser-safe, like `llm-ws/client`. Named exports only: each
 * name here is a public promise (test/api/public-surface.json lists them).
 */
export { LlmWsAgent, type LlmWsAgentConfig, type AgUiObservable } from './agent';
export type { ToolApprovalInterrupt } from '../interop/ag-ui-events';
