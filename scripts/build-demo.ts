/**
 * Builds the demo page into a folder: the browser ESM bundle of `llm-ws/client` (the same client
 * users load with <script type="module">), the page's script, its markdown renderer (marked and
 * DOMPurify bundled in), and its static files. `npm run build` writes dist/demo; the browser test
 * builds into a folder of its own.
 */
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
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
    target: 'es2020',
    minify: true,
    sourcemap: true,
    logLevel: 'warning',
  };
  await Promise.all([
    build({ ...common, entryPoints: [join(root, 'src/client/index.ts')], outfile: join(outDir, 'llm-ws-client.js') }),
    // app.js loads the client and the renderer from the server at run time, as separate files:
    // the client bundle is the one users get as `llm-ws/browser`, and the renderer can be used alone.
    build({
      ...common,
      entryPoints: [join(demoSrc, 'app.js'), join(demoSrc, 'markdown.js')],
      outdir: outDir,
      external: ['/llm-ws-client.js', '/markdown.js'],
    }),
  ]);
  for (const name of readdirSync(demoSrc)) {
    if (STATIC_FILES.has(extname(name))) copyFileSync(join(demoSrc, name), join(outDir, name));
  }
}

if (require.main === module) {
  const outDir = process.argv[2] ?? join(root, 'dist/demo');
  buildDemo(outDir).then(
    () => console.log(`demo page and browser bundle written to ${outDir}`),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
