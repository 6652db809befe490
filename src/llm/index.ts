export * from './types';
export * from './openai-provider';
export * from './offline-provider';
export * from './from-environment';
