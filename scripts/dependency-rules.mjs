/**
 * The dependency rule of src/, as data (scripts/check-deps.mjs checks it in `npm run lint`).
 * A "folder" is the first path segment under src/ (`src/store/redis/x.ts` is `store`); the files
 * at the top (`src/errors.ts`, `src/index.ts`) are folders of their own (`errors`, `index`).
 *
 * A rule with `pending` is reported but does not fail the check unless `--strict` is given: it
 * states where the layout is going (docs/ARCHITECTURE.md) and holds once the work it names lands.
 * Tighten a rule by editing it here; the check prints each rule it breaks with the imports that
 * break it.
 */

/** Folders each folder may import (itself always allowed). A folder not listed may import anything. */
export const allowedFolders = {
  util: [],
  protocol: [],
  errors: ['protocol'],
  operators: ['protocol', 'errors'],
  llm: ['protocol', 'errors', 'util'],
  tools: ['protocol', 'errors', 'llm', 'util'],
  // The transport-agnostic server: no Node facade, no store implementation, no adapter.
  core: ['protocol', 'llm', 'tools', 'operators', 'util', 'errors'],
  client: ['protocol', 'errors', 'operators', 'util'],
  angular: ['client', 'protocol', 'errors', 'operators'],
  testing: ['client', 'protocol', 'errors', 'llm', 'util'],
  // Records and coordination: of the core, its ports alone (see allowedFiles).
  store: ['core', 'protocol', 'errors', 'util'],
  // Pure mappings of a reply into other protocols' words (AI SDK chunks, AG-UI events), shared by
  // the server's adapters and the browser-safe AG-UI agent: no server code, no client code.
  interop: ['protocol'],
  adapters: ['core', 'protocol', 'errors', 'util', 'operators', 'interop'],
  // llm-ws/ag-ui: the AG-UI agent over WSClient; browser-safe like the client.
  'ag-ui': ['client', 'interop', 'protocol', 'errors', 'operators', 'util'],
  // OpenTelemetry decorators of the core's ports (llm-ws/otel): no server, no store.
  otel: ['core', 'llm', 'tools', 'protocol', 'errors'],
  // llm-ws/bun: the native Bun adapter's entry.
  bun: ['adapters'],
};

/**
 * Where a folder may import only some files of another (`{ from: { to: [files] } }`), relative to
 * the repository. The stores see the core through its ports alone (`core/ports.ts`: interfaces and
 * plain value types, importing nothing of the core): they keep records and coordination, the core
 * keeps the sessions. Adapters see the ports and `makeServer`.
 */
export const allowedFiles = {
  store: { core: ['src/core/ports.ts'] },
  adapters: { core: ['src/core/ports.ts', 'src/core/make-server.ts'] },
};

/**
 * Imports that break `allowedFolders` today and are due to go with a named piece of work; each
 * is `from -> to`. The check fails on any other break, and, with `--strict`, on these too. Until
 * then they are also left out of the search for folder-level cycles (which they close), so every
 * other cycle still fails.
 */
export const pendingFolderImports = [];

/** Packages (and `node:` built-ins) a folder must not import; `except` names files exempt. */
export const forbiddenPackages = [
  // `llm-ws/client` runs in browsers: no ws, no openai, no Node built-ins. client/node.ts is the
  // Node entry's WSClient on `ws`, outside the `llm-ws/client` entry.
  { folder: 'client', packages: ['ws', 'openai', 'ioredis', /^node:/], except: ['src/client/node.ts'] },
  { folder: 'angular', packages: ['ws', 'openai', 'ioredis', /^node:/] },
  { folder: 'ag-ui', packages: ['ws', 'openai', 'ioredis', /^node:/] },
  { folder: 'interop', packages: [/^(?!io-ts$|fp-ts(\/|$))/] },
  { folder: 'protocol', packages: [/^(?!io-ts$|fp-ts(\/|$))/] },
  { folder: 'operators', packages: [/^(?!rxjs$)/] },
  // The core sees only its ports: no HTTP server, no socket library, no Redis client.
  { folder: 'core', packages: ['ws', 'ioredis', /^node:/] },
  // The native Bun adapter runs on Bun's own server: no Node built-ins, no socket library.
  { folder: 'bun', packages: ['ws', /^node:/] },
];

/**
 * Packages a folder must not reach at all: not directly, and not through any chain of imports
 * inside src/ (type-only imports count: keep the interfaces a folder needs apart from the code
 * that loads the package). The core checks client tools' schemas through an option
 * (`SessionOptions.checkClientTools`), so Ajv, a code-generating compiler, stays in the tools layer.
 */
export const forbiddenReachable = [{ folder: 'core', packages: ['ajv'] }];
