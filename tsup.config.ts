import { defineConfig } from 'tsup';

/**
 * One build, two module formats. Each public entry point is its own file so that
 * `llm-ws/protocol` and `llm-ws/client` never pull in `ws`, `openai` or `node:*`.
 */
export default defineConfig({
  entry: {
    index: 'src/index.ts',
    server: 'src/server/index.ts',
    protocol: 'src/protocol/index.ts',
    client: 'src/client/index.ts',
    testing: 'src/testing/index.ts',
    'testing/node': 'src/testing/node/index.ts',
    'cli/index': 'src/cli/index.ts',
  },
  format: ['cjs', 'esm'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  splitting: true,
  // __dirname in the ESM build too: the CLI finds the demo page beside itself.
  shims: true,
  // fp-ts has no package exports, so Node's ESM loader refuses `fp-ts/Either` (a directory):
  // bundle the few fp-ts functions we use instead of importing them.
  noExternal: [/^fp-ts/],
});
