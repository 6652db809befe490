/**
 * A server with one tool of its own besides the built-in ones.
 *
 *   npx tsx examples/ws-server-example.ts      (or: bun run examples/ws-server-example.ts)
 *
 * Uses OPENAI_API_KEY / OPENAI_BASE_URL when set, the offline demo model otherwise.
 */
import * as t from 'io-ts';
import { defineTool, WSServer } from 'llm-ws';

const rollDice = defineTool({
  name: 'roll_dice',
  description: 'Roll some dice with the given number of sides and return each result',
  parameters: t.strict({ count: t.number, sides: t.number }),
  execute: ({ count, sides }) => {
    if (count < 1 || count > 100 || sides < 2 || sides > 1000)
      throw new Error('between 1 and 100 dice of 2 to 1000 sides');
    return Array.from({ length: count }, () => 1 + Math.floor(Math.random() * sides));
  },
});

async function main(): Promise<void> {
  const server = new WSServer({
    port: Number(process.env.PORT ?? 3000),
    conversationOptions: {
      systemPrompt: 'You are a helpful assistant. Use tools when they help.',
      maxHistoryLength: 20,
    },
    tools: [rollDice],
  });
  server.onClientConnected(({ sessionId }) => console.log(`+ ${sessionId}`));
  server.onClientDisconnected(({ sessionId, code }) => console.log(`- ${sessionId} (${code})`));
  server.onClientError(({ sessionId, error }) => console.log(`! ${sessionId}: ${error.code}: ${error.message}`));
  await server.start();
  console.log(`listening on ${server.endpoint.url}; Ctrl-C to stop`);
  process.once('SIGINT', () => void server.stop().then(() => process.exit(0)));
}

void main();
