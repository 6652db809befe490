#!/usr/bin/env node
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Command } from 'commander';
import { chatCommand } from './chat';
import { serveCommand } from './serve';

/**
 * This package's version, from its package.json: the nearest one named llm-ws above this file,
 * wherever the CLI runs from (dist/cli, the sources, or the `npm start` build under node_modules/.cache).
 */
export function packageVersion(from: string = __dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const { name, version } = JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown; version?: unknown };
      if (name === 'llm-ws' && typeof version === 'string') return version;
    }
    if (dirname(dir) === dir) return 'unknown';
  }
}

async function main(): Promise<void> {
  const program = new Command('llm-ws')
    .description('Stream LLM conversations over WebSocket')
    .version(packageVersion(), '-V, --version', 'print the version of llm-ws')
    .addCommand(serveCommand())
    .addCommand(chatCommand());
  await program.parseAsync(process.argv);
}

main().catch((error: unknown) => {
  const { code, message } = error as { code?: unknown; message?: unknown };
  console.error(
    `llm-ws: ${typeof code === 'string' ? `${code}: ` : ''}${typeof message === 'string' ? message : String(error)}`,
  );
  process.exit(1);
});
