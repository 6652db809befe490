import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

/** `llm-ws serve` started from a consumer app's installed package, answered by the offline model. */
export interface InstalledServer {
  /** The WebSocket URL it listens on (`ws://127.0.0.1:PORT/ws`). */
  readonly url: string;
  /** Its HTTP origin (`http://127.0.0.1:PORT`). */
  readonly httpOrigin: string;
  /** Everything it printed. */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Runs `node_modules/.bin/llm-ws serve --port 0` in `appDir` (the bin users get from the tarball)
 * and resolves once it prints its URL. The developer's OPENAI_* variables are left out, so the
 * offline model answers ("what is 2+3*4?" gets "2+3*4 = 14").
 */
export function serveInstalled(
  appDir: string,
  extraArgs: readonly string[] = [],
  timeoutMs = 30_000,
): Promise<InstalledServer> {
  const child: ChildProcess = spawn(
    join(appDir, 'node_modules/.bin/llm-ws'),
    ['serve', '--port', '0', '--host', '127.0.0.1', ...extraArgs],
    {
      cwd: appDir,
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`llm-ws serve printed no URL in ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    const onData = (data: Buffer): void => {
      output += data.toString();
      const match = /listening on (ws:\/\/\S+)/.exec(output);
      if (!match) return;
      clearTimeout(timer);
      const url = match[1] as string;
      resolve({ url, httpOrigin: new URL(url).origin.replace(/^ws/, 'http'), output: () => output, stop });
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`llm-ws serve exited (${code}) before listening:\n${output}`));
    });
  });
}
