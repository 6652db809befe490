/**
 * Builds the browser module and the demo page into a folder: `llm-ws-client.js`, the self-contained
 * ESM bundle of `llm-ws/client` (rxjs and io-ts inside) that a page loads with
 * `<script type="module">` and no bundler, with its types, beside the demo page's own files.
 * `npm run build` writes dist/demo, which is also the package's `llm-ws/browser` export; the
 * browser test builds into a folder of its own.
 */
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

const root = join(__dirname, '..');

export async function buildDemo(outDir: string): Promise<void> {
  mkdirSync(outDir, { recursive: true });
  await build({
    entryPoints: [join(root, 'src/client/index.ts')],
    outfile: join(outDir, 'llm-ws-client.js'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    legalComments: 'none',
    logLevel: 'warning',
  });
  // The folder's files are ES modules: Node (and publint, and TypeScript) read `.js` here as ESM.
  // The server serves only .html/.js/.css files from it, so this package.json is never served.
  writeFileSync(join(outDir, 'package.json'), `${JSON.stringify({ type: 'module', sideEffects: false }, null, 2)}\n`);
  // The bundle's types are the client's: the same exports, built from the same sources.
  writeFileSync(join(outDir, 'llm-ws-client.d.ts'), "export * from '../client.mjs';\n");
  for (const name of readdirSync(join(root, 'src/demo'))) copyFileSync(join(root, 'src/demo', name), join(outDir, name));
}

if (require.main === module) {
  const outDir = process.argv[2] ?? join(root, 'dist/demo');
  buildDemo(outDir).then(
    () => console.log(`browser module and demo page written to ${outDir}`),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
