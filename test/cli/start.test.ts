/**
 * `npm start`: a fast build of only the CLI and the demo page, skipped when the sources did not
 * change, then `llm-ws serve` with the arguments given. Timings belong in the README, not here.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
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

/** The command lines of every process below `pid` (Linux /proc). */
function descendantCommands(pid: number): string[] {
  const parents = new Map<number, number>();
  const commands = new Map<number, string>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // stat: "pid (comm) state ppid ...": comm may hold spaces, so read after its closing paren.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
      commands.set(Number(entry), readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ').trim());
    } catch {
      // The process ended while we looked.
    }
  }
  const below = (parent: number): number[] =>
    [...parents].filter(([, ppid]) => ppid === parent).flatMap(([child]) => [child, ...below(child)]);
  return below(pid).map((child) => commands.get(child) ?? '');
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
    // The build's esbuild service is stopped: only the server runs on.
    expect(descendantCommands(running.child.pid as number).filter((command) => command.includes('esbuild'))).toEqual(
      [],
    );
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
