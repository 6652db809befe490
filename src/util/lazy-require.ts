/**
 * Loads a server dependency (openai, ioredis, prom-client, ajv) the first time it is used, not when
 * the module naming it is imported: `import { WSClient } from 'llm-ws'` then loads none of them.
 * Synchronous, because the server's constructors are. Node and Bun only: the client never calls it.
 */

/**
 * The URL of the ES module build's file (set by tsup's `define` in the ESM build only: a CommonJS
 * file has `__filename` instead, and cannot parse `import.meta`).
 */
declare const LLM_WS_ESM_URL: string | undefined;

type Require = (id: string) => unknown;
let loader: Require | undefined;

function requireHere(): Require {
  if (loader) return loader;
  const { createRequire } = process.getBuiltinModule('node:module');
  // Resolved from this package's own files, as a static import would be.
  loader = createRequire(typeof LLM_WS_ESM_URL === 'string' ? LLM_WS_ESM_URL : __filename);
  return loader;
}

/**
 * A function that loads package `name` on its first call and returns it (the same object on
 * every call). Callers type it as the package: `lazyRequire('ajv') as () => typeof AjvModule`.
 */
export function lazyRequire(name: string): () => unknown {
  let loaded: unknown;
  return () => (loaded ??= requireHere()(name));
}
