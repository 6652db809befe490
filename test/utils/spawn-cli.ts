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
  /** Everything written to stdout and stderr so far (in a terminal: its text, without escape codes and carriage returns). */
  output(): string;
  /** What was written to stdout so far (in a terminal: all of the output). */
  stdout(): string;
  /** Resolves with the first match of `pattern` in the output. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Resolves with the exit code once the process has ended. */
  exited: Promise<number | null>;
  /** Sends SIGTERM (if still running) and waits for the exit. */
  stop(): Promise<number | null>;
}

const entry = join(root, 'src/cli/index.ts');
// Start from a clean slate: the developer's own OPENAI_* variables must not leak into tests.
const cleanEnv = (env: NodeJS.ProcessEnv): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  ...env,
});

/**
 * A `serve` that names no store keeps its sessions in memory, as the tests written before the
 * SQLite default expect: no file left in the repository, none shared by parallel tests.
 */
function withTestStore(args: string[]): string[] {
  if (args[0] !== 'serve' || args.some((arg) => arg === '--store' || arg === '--data-dir')) return args;
  return [...args, '--store', 'memory'];
}

/** Runs the CLI from its sources, under Node (through tsx) or under Bun (which runs TypeScript itself). */
export function spawnCli(args: string[], env: NodeJS.ProcessEnv = {}, runtime: 'node' | 'bun' = 'node'): CliProcess {
  args = withTestStore(args);
  const [command, prefix] =
    runtime === 'bun'
      ? [join(root, 'node_modules/.bin/bun'), ['run', entry]]
      : [process.execPath, ['--import', 'tsx', entry]];
  return track(
    spawn(command, [...prefix, ...args], { cwd: root, env: cleanEnv(env), stdio: ['pipe', 'pipe', 'pipe'] }),
  );
}

/** Any command, with its output collected and waited on as {@link spawnCli}'s (its env cleaned the same way). */
export function spawnTracked(
  command: string,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): CliProcess {
  return track(
    spawn(command, args, {
      cwd: options.cwd ?? root,
      env: cleanEnv(options.env ?? {}),
      stdio: ['pipe', 'pipe', 'pipe'],
    }),
  );
}

const shellQuote = (word: string): string => `'${word.replace(/'/g, `'\\''`)}'`;

/**
 * Runs the CLI (under Node, through tsx) in a pseudo-terminal, as a user at a terminal runs it:
 * util-linux `script` gives it a pty of 100 columns, so stdin and stdout are TTYs and readline
 * works in raw mode. `type` then sends keys (`\r` is Enter, `\x03` Ctrl-C).
 */
export function spawnCliInTerminal(args: string[], env: NodeJS.ProcessEnv = {}): CliProcess {
  const command = ['stty cols 100 rows 40; exec', process.execPath, '--import', 'tsx', entry, ...args]
    .map((word, i) => (i === 0 ? word : shellQuote(word)))
    .join(' ');
  const child = spawn('script', ['--quiet', '--flush', '--return', '--command', command, '/dev/null'], {
    cwd: root,
    env: cleanEnv({ TERM: 'xterm', ...env }),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  return track(child, (keys) => child.stdin?.write(keys), withoutEscapes);
}

/** What a terminal shows as text: without escape codes (cursor moves, line clears) and carriage returns. */
// eslint-disable-next-line no-control-regex -- ESC starts the escape codes removed here.
const withoutEscapes = (text: string): string => text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '');

function track(
  child: ChildProcess,
  type: (line: string) => void = (line) => child.stdin?.write(`${line}\n`),
  asText: (output: string) => string = (output) => output,
): CliProcess {
  let output = '';
  let stdout = '';
  const listeners = new Set<() => void>();
  const append = (data: Buffer): void => {
    output = asText(output + data.toString());
    for (const listener of [...listeners]) listener();
  };
  child.stdout?.on('data', (data: Buffer) => {
    stdout += data.toString();
    append(data);
  });
  child.stderr?.on('data', append);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  return {
    child,
    type,
    output: () => output,
    stdout: () => stdout,
    waitForOutput: (pattern, timeoutMs = 15_000) => {
      // An exit is a change too: the last check then fails fast instead of waiting out the timeout.
      void exited.then(() => listeners.forEach((listener) => listener()));
      return waitUntil(
        () =>
          output.match(pattern) ??
          (child.exitCode !== null ? fail(`process exited before printing ${pattern}; output:\n${output}`) : undefined),
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
