/**
 * `llm-ws/testing/node`: everything of `llm-ws/testing`, plus what needs Node: the
 * OpenAI-compatible HTTP test server that streams real SSE from scripted scenarios. Named exports
 * only: each name here is a public promise (test/api/public-surface.json lists them).
 */
export {
  createFakeServer,
  FakeWebSocket,
  makeServerMessage,
  makeSession,
  makeChunk,
  makeReasoning,
  makeComplete,
  makeToolCall,
  makeToolResult,
  makeStatus,
  makeHistory,
  makeError,
  makePong,
  makeNotification,
  makeClosing,
  makeReply,
  offlineProvider,
  type ClientMessageOf,
  type FakeServer,
  type FakeServerOptions,
  type ReceivedFrame,
  type Envelope,
  type OfflineProviderOptions,
} from '..';
export {
  createOpenAITestServer,
  textScenario,
  wordChunks,
  wallClockMs,
  EMIT_TIME_PLACEHOLDER,
  type OpenAITestServer,
  type TestScenario,
  type ScriptedToolCall,
  type ScriptedReasoning,
  type RecordedRequest,
} from '../openai-test-server';
