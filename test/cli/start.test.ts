/**
 * `npm start`: a fast build of only the CLI and the demo page, skipped when the sources did not
 * change, then `llm-ws serve` with the arguments given. Timings belong in the README, not here.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { spawnTracked } from '../utils/spawn-cli';

const root = join(__dirname, '..', '..');
const cacheDir = join(root, 'node_modules', '.cache', 'llm-ws', 'start');

/** Runs `npm start -- <args>` as npm does (tsx scripts/start.ts). */
function npmStart(args: string[]) {
  const started = spawnTracked(join(root, 'node_modules', '.bin', 'tsx'), ['scripts/start.ts', ...args]);
  const listening = started
    .waitForOutput(/listening on ws:\/\/[^:]+:(\d+)/, 60_000)
    .then((match) => match[1] as string);
  return { ...started, listening };
}

describe('npm start', () => {
  let running: ReturnType<typeof npmStart> | undefined;
  afterEach(async () => {
    await running?.stop();
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
  }, 120_000);
});
