export * from './types';
export * from './registry';
export { jsonSchemaOf } from './codec-schema';
export * from './builtin';
