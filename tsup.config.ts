import { defineConfig, type Options } from 'tsup';

/**
 * Two builds. The library entries are what apps import, in every bundler and runtime: ES2022,
 * platform-neutral, no Node shims (a shim's `import path from 'path'` in a chunk the client
 * shares breaks every browser bundler), chunks shared between entries so `ProtocolError` is one
 * class whichever entry it is imported from, and rollup's tree-shaking pass (`treeshake`) so the
 * CJS chunks are plain ES2022 too (tsup's own CJS splitting down-levels `?.` into helpers) and
 * the ESM chunks carry no module-initialisation wrappers that `"sideEffects": false` could drop.
 *
 * The CLI is an application, not a library: built apart, CommonJS for Node only, bundled whole.
 */
const shared: Options = {
  sourcemap: false,
  removeNodeProtocol: false,
  // fp-ts has no package exports, so Node's ESM loader refuses `fp-ts/Either` (a directory):
  // bundle the few fp-ts functions we use instead of importing them.
  noExternal: [/^fp-ts/],
};

export default defineConfig([
  {
    ...shared,
    // Another entry point? Add it here and to package.json's `exports` (scripts/check-exports.mjs
    // and the consumer tests load every one of them).
    entry: {
      index: 'src/index.ts',
      server: 'src/server/index.ts',
      protocol: 'src/protocol/index.ts',
      client: 'src/client/index.ts',
      testing: 'src/testing/index.ts',
      'testing/node': 'src/testing/node/index.ts',
      angular: 'src/angular/index.ts',
      otel: 'src/otel/index.ts',
      'ag-ui': 'src/ag-ui/index.ts',
      bun: 'src/bun/index.ts',
      // Not exported: entries only so that each is a module of its own in dist/ (rollup puts modules
      // imported by the same entries into one chunk). The codecs' io-ts calls run at the top level,
      // which a bundler keeps in any module it includes; alone in their modules, they are dropped
      // (`sideEffects: false`) from apps that use none of them, such as a browser app on the
      // client, which decodes without io-ts. So codecs.ts must import nothing the client imports.
      'internal/codecs': 'src/protocol/codecs.ts',
      'internal/codes': 'src/protocol/codes.ts',
      // Shared by the codecs and the client's decoder: an entry, so it does not join the codecs' module.
      'internal/limits': 'src/protocol/limits.ts',
    },
    format: ['cjs', 'esm'],
    // Members marked `@internal` (a property or method of a public class or interface) stay out of
    // the published .d.ts. A declaration an entry re-exports cannot be `@internal` (the build fails:
    // it is stripped but still re-exported): leave it out of the entry instead. scripts/public-surface.ts
    // --dist checks the built files against the reviewed list of public names.
    dts: { compilerOptions: { stripInternal: true } },
    clean: true,
    target: 'es2022',
    platform: 'neutral',
    // Node built-ins stay imports (`node:crypto`): only the server and testing entries reach them.
    external: [/^node:/],
    splitting: true,
    treeshake: true,
    shims: false,
    // Where src/util/lazy-require.ts resolves server dependencies from: this file, in the ESM build
    // (`import.meta.url`); the CJS build has `__filename`.
    esbuildOptions(options, { format }) {
      if (format === 'esm') options.define = { ...options.define, LLM_WS_ESM_URL: 'import.meta.url' };
    },
  },
  {
    ...shared,
    entry: { 'cli/index': 'src/cli/index.ts' },
    format: ['cjs'],
    target: 'node20',
    platform: 'node',
    clean: false,
  },
]);
