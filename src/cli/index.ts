#!/usr/bin/env node
import { Command } from 'commander';
import { chatCommand } from './chat';
import { serveCommand } from './serve';

async function main(): Promise<void> {
  const program = new Command('llm-ws')
    .description('Stream LLM conversations over WebSocket')
    .addCommand(serveCommand())
    .addCommand(chatCommand());
  await program.parseAsync(process.argv);
}

main().catch((error: unknown) => {
  const { code, message } = error as { code?: unknown; message?: unknown };
  console.error(`llm-ws: ${typeof code === 'string' ? `${code}: ` : ''}${typeof message === 'string' ? message : String(error)}`);
  process.exit(1);
});
