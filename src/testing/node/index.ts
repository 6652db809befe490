/**
 * `llm-ws/testing/node`: everything of `llm-ws/testing`, plus what needs Node: the
 * OpenAI-compatible HTTP test server that streams real SSE from scripted scenarios.
 */
export * from '..';
export * from '../openai-test-server';
export { validateChatRequest } from '../validate-chat-request';
