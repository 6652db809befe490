import { firstValueFrom } from 'rxjs';
import { WSClient } from '../../src/client/node';
import { createOpenAITestServer, type OpenAITestServer } from '../../src/testing/node';
import { type CliProcess, spawnCli } from '../utils/spawn-cli';

/** `llm-ws serve` running under Bun, driven by the Node client: the same protocol, the same guarantees. */
describe('llm-ws serve under Bun, with the Node client', () => {
  let upstream: OpenAITestServer;
  let serve: CliProcess;
  let client: WSClient;
  let url: string;

  beforeAll(async () => {
    upstream = await createOpenAITestServer();
    serve = spawnCli(['serve', '--port', '0', '--host', '127.0.0.1'], { OPENAI_BASE_URL: upstream.baseURL }, 'bun');
    url = (await serve.waitForOutput(/listening on (ws:\/\/\S+)/))[1] as string;
    client = new WSClient({ url });
    await client.connect();
  }, 30_000);
  afterAll(async () => {
    client?.disconnect();
    await serve?.stop();
    await upstream?.close();
  });

  it('streams a reply, runs a tool, and answers controls', async () => {
    upstream.enqueue({ type: 'text', chunks: ['Hello ', 'from ', 'Bun'] });
    expect((await client.sendMessage('hi')).fullText).toBe('Hello from Bun');
    upstream.enqueue(
      { type: 'tool_calls', calls: [{ name: 'calculate', arguments: { expression: '6*7' } }] },
      { type: 'text', chunks: ['42'] },
    );
    const results: unknown[] = [];
    const stop = client.onToolResult(({ result }) => results.push(result));
    await client.sendMessage('six times seven?');
    stop();
    expect(results).toEqual([{ expression: '6*7', result: 42 }]);
    expect(await client.getHistory()).toHaveLength(6);
  });

  it('cancels the upstream request on abort', async () => {
    upstream.enqueue({ type: 'stall', chunks: ['...'] });
    const reply = client.sendMessage('long');
    await firstValueFrom(client.chunks$);
    await client.abort();
    await expect(reply).resolves.toMatchObject({ finishReason: 'aborted' });
    await expect(upstream.requests[upstream.requests.length - 1]?.ended).resolves.toBe('client_closed');
  });

  it('serves /health', async () => {
    const { port } = new URL(url);
    const health = await (await fetch(`http://127.0.0.1:${port}/health`)).json();
    expect(health).toMatchObject({ status: 'ok', connections: 1 });
  });
});
