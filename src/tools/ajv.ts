import type Ajv from 'ajv';
import type * as AjvModule from 'ajv';
import { lazyRequire } from '../util/lazy-require';

/** Ajv's options, as its constructor takes them. */
export type AjvOptions = ConstructorParameters<typeof Ajv>[0];

const ajvModule = lazyRequire('ajv') as () => typeof AjvModule;

/** A new Ajv instance; ajv itself is loaded on the first call, not when llm-ws is imported. */
export function newAjv(options: AjvOptions): Ajv {
  const { default: AjvClass } = ajvModule();
  return new AjvClass(options);
}
