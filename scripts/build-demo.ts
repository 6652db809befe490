/**
 * Builds the demo page into a folder: the browser ESM bundle of `llm-ws/client` (the same client
 * users load with <script type="module">) beside the page's own files. `npm run build` writes
 * dist/demo; the browser test builds into a folder of its own.
 */
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
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
    target: 'es2020',
    minify: true,
    sourcemap: true,
    logLevel: 'warning',
  });
  for (const name of readdirSync(join(root, 'src/demo'))) copyFileSync(join(root, 'src/demo', name), join(outDir, name));
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
