import { openAIProvider } from '../../src/llm/openai-provider';
import { silentLogger } from '../../src/server/logger';
import type { WSServerOptions } from '../../src/server/options';
import { WSServer } from '../../src/server/ws-server';
import type { OpenAITestServer } from '../../src/testing/node';

/** A started WSServer on a free loopback port whose model is `upstream`, the OpenAI-compatible test server. */
export async function startServerFor(upstream: OpenAITestServer, options: WSServerOptions = {}): Promise<WSServer> {
  const server = new WSServer({
    port: 0,
    hostname: '127.0.0.1',
    logger: silentLogger,
    llm: openAIProvider({ baseURL: upstream.baseURL, apiKey: 'test', model: 'test-model', maxRetries: 0 }),
    ...options,
  });
  await server.start();
  return server;
}
