import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { waitUntil } from './wait-until';

const fail = (message: string): never => {
  throw new Error(message);
};

const root = join(__dirname, '..', '..');

/** A running `llm-ws` command, started from the TypeScript sources through tsx. */
export interface CliProcess {
  readonly child: ChildProcess;
  /** Types a line on the process's stdin. */
  type(line: string): void;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Resolves with the first match of `pattern` in the output. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Resolves with the exit code once the process has ended. */
  exited: Promise<number | null>;
  /** Sends SIGTERM (if still running) and waits for the exit. */
  stop(): Promise<number | null>;
}

/** Runs the CLI from its sources, under Node (through tsx) or under Bun (which runs TypeScript itself). */
export function spawnCli(args: string[], env: NodeJS.ProcessEnv = {}, runtime: 'node' | 'bun' = 'node'): CliProcess {
  const entry = join(root, 'src/cli/index.ts');
  const [command, prefix] =
    runtime === 'bun' ? [join(root, 'node_modules/.bin/bun'), ['run', entry]] : [process.execPath, ['--import', 'tsx', entry]];
  const child = spawn(command, [...prefix, ...args], {
    cwd: root,
    // Start from a clean slate: the developer's own OPENAI_* variables must not leak into tests.
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
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

  return {
    child,
    type: (line) => child.stdin?.write(`${line}\n`),
    output: () => output,
    waitForOutput: (pattern, timeoutMs = 15_000) => {
      // An exit is a change too: the last check then fails fast instead of waiting out the timeout.
      void exited.then(() => listeners.forEach((listener) => listener()));
      return waitUntil(
        () => output.match(pattern) ?? (child.exitCode !== null ? fail(`process exited before printing ${pattern}; output:\n${output}`) : undefined),
        listeners,
        timeoutMs,
        () => `timed out waiting for ${pattern} in output:\n${output}`,
      );
    },
    exited,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}
