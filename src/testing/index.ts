/**
 * `llm-ws/testing`: what you need to test code built on llm-ws without a real model.
 */
export * from './openai-test-server';
export { validateChatRequest } from './validate-chat-request';
export { offlineProvider, type OfflineProviderOptions } from '../llm/offline-provider';
