/**
 * `npm start [-- serve options]`: runs `llm-ws serve` from a fast build of only what serving
 * needs (`npm run chat [-- chat options]` runs `llm-ws chat`, `npm run cli -- <command>` any other): the CLI as one esbuild bundle and the demo page. No type declarations, no second module
 * format, no library entry points (that is `npm run build`, which takes minutes on a fresh clone).
 *
 * The build goes to node_modules/.cache/llm-ws/start, laid out as dist is (cli/ beside demo/, so
 * the CLI finds the page), and never into dist: `npm pack` ships only what `npm run build` made.
 * It is redone only when a source changed: a stamp records every input's path, size and mtime.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { build, stop } from 'esbuild';
import { buildDemo } from './build-demo';

const root = join(__dirname, '..');
/** Where the fast build lives. */
export const START_BUILD_DIR = join(root, 'node_modules', '.cache', 'llm-ws', 'start');
const cliFile = join(START_BUILD_DIR, 'cli', 'index.js');
const stampFile = join(START_BUILD_DIR, 'stamp');

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(path) : [path];
  });
}

/** What the build is made from, as one hash of each input's path, size and mtime. */
function inputsStamp(): string {
  const inputs = [
    ...filesUnder(join(root, 'src')),
    join(root, 'scripts', 'start.ts'),
    join(root, 'scripts', 'build-demo.ts'),
    join(root, 'package.json'),
    join(root, 'tsconfig.json'),
  ].sort();
  const hash = createHash('sha256');
  for (const file of inputs) {
    const { size, mtimeMs } = statSync(file);
    hash.update(`${relative(root, file)}\0${size}\0${mtimeMs}\n`);
  }
  return hash.digest('hex');
}

/** Builds the CLI bundle and the demo page unless the last build is of the same sources. Returns whether it built. */
export async function buildForStart(): Promise<boolean> {
  const stamp = inputsStamp();
  if (existsSync(cliFile) && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp) return false;
  rmSync(START_BUILD_DIR, { recursive: true, force: true });
  mkdirSync(START_BUILD_DIR, { recursive: true });
  await Promise.all([
    build({
      entryPoints: [join(root, 'src', 'cli', 'index.ts')],
      outfile: cliFile,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      // Dependencies load from node_modules as they do for the published CLI.
      packages: 'external',
      sourcemap: true,
      logLevel: 'warning',
    }),
    buildDemo(join(START_BUILD_DIR, 'demo')),
  ]);
  // esbuild's service process would otherwise stay beside the server for as long as it runs.
  await stop();
  writeFileSync(stampFile, stamp);
  return true;
}

/** What `llm-ws` takes as its first argument; anything else is an option of `serve`. */
const CLI_COMMANDS = new Set(['serve', 'chat', 'help', '--help', '-h', '--version', '-V']);

if (require.main === module) {
  const startedAt = performance.now();
  buildForStart().then(
    (built) => {
      if (built)
        console.log(
          `llm-ws: built the CLI and the demo page for npm start in ${Math.round(performance.now() - startedAt)} ms`,
        );
      // Run the CLI in this process, as `llm-ws <arguments>` (`serve` unless a command is named):
      // signals reach the server directly.
      const args = process.argv.slice(2);
      const command = args[0] !== undefined && CLI_COMMANDS.has(args[0]) ? [] : ['serve'];
      process.argv = [process.argv[0] as string, cliFile, ...command, ...args];
      // The built CLI is CommonJS, run in this process: a require of a path known only now.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require(cliFile);
    },
    (error: unknown) => {
      console.error('llm-ws: the build for npm start failed', error);
      process.exit(1);
    },
  );
}
