export * from './types';
export * from './registry';
export { jsonSchemaOf } from './codec-schema';
export * from './builtin';
export {
  DEFAULT_APPROVAL_TIMEOUT_MS,
  DEFAULT_CLIENT_TOOL_TIMEOUT_MS,
  DEFAULT_MAX_CLIENT_TOOL_RESULT_BYTES,
} from './client-answers';
