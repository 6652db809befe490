#!/usr/bin/env node
import { Command } from 'commander';
import { serveCommand } from './serve';

async function main(): Promise<void> {
  const program = new Command('llm-ws').description('Stream LLM conversations over WebSocket').addCommand(serveCommand());
  await program.parseAsync(process.argv);
}

main().catch((error: unknown) => {
  console.error(`llm-ws: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
