/**
 * The callback API: connect, stream one answer to the terminal, show tool calls, disconnect.
 *
 *   npx tsx examples/ws-client-example.ts "what is 2+3*4?"   (a server must be running: npm start)
 *   bun run examples/ws-client-example.ts "what time is it?"
 */
import { WSClient } from 'llm-ws';

async function main(): Promise<void> {
  const client = new WSClient({ url: process.env.LLM_WS_URL ?? 'ws://localhost:3000/ws', reconnectAttempts: 5 });

  client.onConnected(({ sessionId }) => console.error(`[connected: ${sessionId}]`));
  client.onReconnecting(({ attempt, delayMs }) => console.error(`[reconnecting: attempt ${attempt} in ${delayMs} ms]`));
  client.onLLMChunk(({ chunk }) => process.stdout.write(chunk));
  client.onToolCall(({ toolName, args }) => console.error(`\n[tool] ${toolName} ${JSON.stringify(args)}`));
  client.onToolResult(({ toolName, result, error }) =>
    console.error(`[result] ${toolName}: ${JSON.stringify(error ?? result)}`),
  );
  client.onError((error) => console.error(`[error] ${error.code}: ${error.message}`));

  await client.connect();
  const reply = await client.sendMessage(process.argv[2] ?? 'What is 2+3*4?');
  console.log(`\n\n(${reply.finishReason}, ${reply.usage?.totalTokens ?? '?'} tokens)`);
  console.log(client.getStats());
  client.disconnect();
}

main().catch((error: unknown) => {
  const { code, message } = error as { code?: string; message: string };
  console.error(`failed: ${code ?? ''} ${message}`);
  process.exit(1);
});
