/**
 * Builds the browser module and the demo page into a folder: `llm-ws-client.js`, the self-contained
 * ESM bundle of `llm-ws/client` (rxjs and io-ts inside) that a page loads with
 * `<script type="module">` and no bundler, with its types, beside the demo page: its script, its
 * markdown renderer (marked and DOMPurify bundled in) and its static files. `npm run build` writes
 * dist/demo, which is also the package's `llm-ws/browser` export; the browser test builds into a
 * folder of its own.
 */
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { build, type BuildOptions } from 'esbuild';

const root = join(__dirname, '..');
const demoSrc = join(root, 'src/demo');

/** The page's own files, copied as they are; its scripts are bundled instead. */
const STATIC_FILES = new Set(['.html', '.css', '.svg']);

export async function buildDemo(outDir: string): Promise<void> {
  mkdirSync(outDir, { recursive: true });
  const common: BuildOptions = {
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    logLevel: 'warning',
  };
  await Promise.all([
    build({
      ...common,
      entryPoints: [join(root, 'src/client/index.ts')],
      outfile: join(outDir, 'llm-ws-client.js'),
      legalComments: 'none',
    }),
    // app.js loads the client and the renderer from the server at run time, as separate files:
    // the client bundle is the one users get as `llm-ws/browser`, and the renderer can be used alone.
    // marked's and DOMPurify's licence comments stay in the bundle that carries their code.
    build({
      ...common,
      entryPoints: [join(demoSrc, 'app.js'), join(demoSrc, 'markdown.js')],
      outdir: outDir,
      external: ['/llm-ws-client.js', '/markdown.js'],
      legalComments: 'eof',
    }),
  ]);
  // The folder's files are ES modules: Node (and publint, and TypeScript) read `.js` here as ESM.
  // The server serves only .html/.js/.css/.svg files from it, so this package.json is never served.
  writeFileSync(join(outDir, 'package.json'), `${JSON.stringify({ type: 'module', sideEffects: false }, null, 2)}\n`);
  // The bundle's types are the client's: the same exports, built from the same sources.
  writeFileSync(join(outDir, 'llm-ws-client.d.ts'), "export * from '../client.mjs';\n");
  for (const name of readdirSync(demoSrc)) {
    if (STATIC_FILES.has(extname(name))) copyFileSync(join(demoSrc, name), join(outDir, name));
  }
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
