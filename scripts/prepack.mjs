// `npm pack` and `npm publish` run this first: the tarball ships dist/, which git does not hold,
// so a pack from a fresh clone built nothing and shipped a package without code. It builds when
// dist/ is missing or older than a source it is built from; a fresh build (CI's, just before it
// packs) is packed as it is, rather than built again.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const built = join(root, 'dist', 'index.js');
const INPUTS = ['src', 'scripts/build-demo.ts', 'tsup.config.ts', 'package.json', 'tsconfig.json'];

/** The newest modification time under `path` (a file or a folder), in ms. */
function newest(path) {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...readdirSync(path).map((name) => newest(join(path, name))));
}

const stale =
  !existsSync(built) ||
  INPUTS.filter((input) => existsSync(join(root, input))).some(
    (input) => newest(join(root, input)) > statSync(built).mtimeMs,
  );
if (stale) {
  console.error('llm-ws prepack: dist/ is missing or older than its sources: npm run build');
  // The build's output to stderr: `npm pack --json` prints its answer on stdout.
  execFileSync('npm', ['run', 'build'], { cwd: root, stdio: ['ignore', 2, 2] });
}
