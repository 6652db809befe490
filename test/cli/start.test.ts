/**
 * `npm start`: a fast build of only the CLI and the demo page, skipped when the sources did not
 * change, then `llm-ws serve` with the arguments given. Timings belong in the README, not here.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { waitUntil } from '../utils/wait-until';

const root = join(__dirname, '..', '..');
const cacheDir = join(root, 'node_modules', '.cache', 'llm-ws', 'start');

/** Runs `npm start -- <args>` as npm does (tsx scripts/start.ts), collecting its output. */
function npmStart(args: string[]) {
  const child: ChildProcess = spawn(join(root, 'node_modules', '.bin', 'tsx'), ['scripts/start.ts', ...args], {
    cwd: root,
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const listeners = new Set<() => void>();
  const append = (data: Buffer): void => {
    output += data.toString();
    for (const listener of [...listeners]) listener();
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const listening = waitUntil(() => output.match(/listening on ws:\/\/[^:]+:(\d+)/)?.[1], listeners, 60_000, () => `never listened:\n${output}`);
  return { child, exited, listening, output: () => output };
}

describe('npm start', () => {
  let running: ReturnType<typeof npmStart> | undefined;
  afterEach(async () => {
    running?.child.kill('SIGTERM');
    await running?.exited;
    running = undefined;
  });

  it('builds only the CLI and the demo page, serves the page, and skips the build when nothing changed', async () => {
    rmSync(cacheDir, { recursive: true, force: true });
    running = npmStart(['--port', '0', '--host', '127.0.0.1']);
    const port = await running.listening;
    expect(running.output()).toMatch(/built the CLI and the demo page for npm start/);
    const page = await fetch(`http://127.0.0.1:${port}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<html/i);
    const bundle = await fetch(`http://127.0.0.1:${port}/llm-ws-client.js`);
    expect(bundle.status).toBe(200);
    running.child.kill('SIGTERM');
    expect(await running.exited).toBe(0);

    running = npmStart(['--port', '0', '--host', '127.0.0.1']);
    await running.listening;
    expect(running.output()).not.toMatch(/built the CLI/);
  });
});
