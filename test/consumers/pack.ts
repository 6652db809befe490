/**
 * The package as users get it: a fresh build, `npm pack`ed once per jest run, installed from the
 * tarball into throwaway consumer apps. Consumer tests import these helpers; nothing here reads
 * `src/` at run time, so a packaging bug (a wrong export, a Node import in client code, a missing
 * file) fails them as it would fail a user.
 *
 * With LLM_WS_TARBALL set (CI, after its own build), that tarball is used and nothing is built.
 *
 * Once per run: jest's global setup (`setup.ts`) names a folder for the run in
 * LLM_WS_PACK_DIR; the first test file to call {@link packOnce} builds and packs into it while the
 * others wait for it, and the global teardown removes it. A test run without that setup (a file run
 * on its own by another runner) packs into a folder of its own.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The repository root. */
export const repoRoot = join(__dirname, '..', '..');

/** What a build needs from the repository; dist/ and node_modules are not among them. */
const BUILD_INPUTS = [
  'package.json',
  'tsconfig.json',
  'tsup.config.ts',
  'README.md',
  'LICENSE',
  'src',
  'scripts',
  'docs',
];

/** How long to wait for another test file's build and pack. */
const PACK_TIMEOUT_MS = 240_000;

/** Runs a command, failing with its output (not only its exit code) when it fails. */
export async function runCommand(
  command: string,
  args: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<{ stdout: string; stderr: string }> {
  try {
    return await run(command, args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      timeout: options.timeoutMs ?? 180_000,
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (error) {
    const { stdout, stderr, message } = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(
      `${command} ${args.join(' ')} failed in ${options.cwd}: ${message}\n${stdout ?? ''}\n${stderr ?? ''}`,
      { cause: error },
    );
  }
}

/**
 * `npm`, with the settings every consumer install uses: from the cache when it can, quietly.
 * `fresh`: as a user installing today, with an empty cache of its own and asking the registry for
 * the newest versions inside every range (`--prefer-online`), not what a cache or lockfile holds.
 */
export function npm(
  args: readonly string[],
  cwd: string,
  timeoutMs?: number,
  fresh = false,
): Promise<{ stdout: string; stderr: string }> {
  const source = fresh ? ['--prefer-online', `--cache=${join(cwd, '.npm-cache')}`] : ['--prefer-offline'];
  return runCommand('npm', [...args, ...source, '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd,
    timeoutMs,
    // The consumer's own npm, not one told by a parent `npm test` to act on this repository.
    env: { npm_config_workspace: undefined, npm_config_prefix: undefined, INIT_CWD: undefined },
  });
}

/** Builds the package in a copy of the repository and packs it into `dir`; returns the tarball. */
async function buildAndPack(dir: string): Promise<string> {
  // A copy, so the build never rewrites the dist/ that other tests (and the developer) use.
  const copy = join(dir, 'package');
  mkdirSync(copy, { recursive: true });
  for (const name of BUILD_INPUTS) {
    if (existsSync(join(repoRoot, name))) cpSync(join(repoRoot, name), join(copy, name), { recursive: true });
  }
  symlinkSync(join(repoRoot, 'node_modules'), join(copy, 'node_modules'), 'dir');
  await runCommand('npm', ['run', 'build', '--silent'], { cwd: copy, timeoutMs: PACK_TIMEOUT_MS });
  const { stdout } = await runCommand('npm', ['pack', '--json', '--pack-destination', dir], { cwd: copy });
  const [packed] = JSON.parse(stdout) as Array<{ filename: string }>;
  if (!packed) throw new Error(`npm pack printed no file: ${stdout}`);
  return join(dir, packed.filename);
}

let packed: Promise<string> | undefined;

/**
 * The path of the packed tarball of a fresh build: built and packed once per jest run, however
 * many test files ask.
 */
export function packOnce(): Promise<string> {
  packed ??= packShared();
  return packed;
}

async function packShared(): Promise<string> {
  // CI packs once from the build it has just checked (.ci/run): the same files, one build fewer.
  const given = process.env.LLM_WS_TARBALL;
  if (given) {
    if (!existsSync(given)) throw new Error(`LLM_WS_TARBALL names ${given}, which does not exist`);
    return given;
  }
  const shared = process.env.LLM_WS_PACK_DIR;
  if (!shared) return buildAndPack(mkdtempSync(join(tmpdir(), 'llm-ws-pack-')));
  const done = join(shared, 'tarball');
  const failed = join(shared, 'failed');
  mkdirSync(join(shared, '..'), { recursive: true });
  let mine = true;
  try {
    mkdirSync(shared); // atomic: exactly one test file wins and builds
  } catch {
    mine = false;
  }
  if (mine) {
    try {
      const tarball = await buildAndPack(shared);
      writeFileSync(done, tarball);
      return tarball;
    } catch (error) {
      writeFileSync(failed, (error as Error).message);
      throw error;
    }
  }
  // Another test file is building: wait for its result (a wait, not an assertion).
  const deadline = Date.now() + PACK_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (existsSync(done)) return readFileSync(done, 'utf8');
    if (existsSync(failed)) throw new Error(`the shared build failed: ${readFileSync(failed, 'utf8')}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`no tarball in ${shared} after ${PACK_TIMEOUT_MS} ms`);
}

/** What a consumer app is made of. */
export interface ConsumerAppOptions {
  /** Dependencies besides llm-ws, as in package.json (`{ vite: '^8' }`). */
  readonly dependencies?: Readonly<Record<string, string>>;
  /** package.json's `type`. @default 'module' */
  readonly type?: 'module' | 'commonjs';
  /** Files to write, by path relative to the app. */
  readonly files?: Readonly<Record<string, string>>;
  /** Leave llm-ws out of the install (a baseline app to compare with). @default false */
  readonly withoutLlmWs?: boolean;
  /**
   * Install as a user does today: no lockfile, an empty npm cache, the newest release inside each
   * range (see {@link npm}). Catches an upstream release that breaks us before a user meets it.
   * @default false
   */
  readonly fresh?: boolean;
}

/**
 * Makes a fresh consumer app in `dir` (created if missing) with llm-ws installed from `tarball`
 * and the given dependencies, from the npm cache when it can (unless `fresh`). Resolves once
 * `npm install` is done.
 */
export async function makeConsumerApp(dir: string, tarball: string, options: ConsumerAppOptions = {}): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const dependencies = { ...(options.withoutLlmWs ? {} : { 'llm-ws': `file:${tarball}` }), ...options.dependencies };
  const manifest = {
    name: 'llm-ws-consumer',
    version: '0.0.0',
    private: true,
    type: options.type ?? 'module',
    dependencies,
  };
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  for (const [path, text] of Object.entries(options.files ?? {})) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  await npm(['install'], dir, undefined, options.fresh);
  return dir;
}

/** A temporary folder under the OS's temp dir; remove it with {@link removeDir}. */
export function makeTempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `llm-ws-${prefix}-`));
}

export function removeDir(dir: string | undefined): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
}
