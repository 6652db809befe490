import { HttpAgent } from '@ag-ui/client';
import { firstValueFrom } from 'rxjs';
import WebSocket from 'ws';
import { ask, lastAssistant as lastAssistantOf } from '../utils/ag-ui-agent';
import { aiSdkUrl, lastAssistant, textOf, useAiSdkChats } from '../utils/ai-sdk-chat';
import { WSClient } from '../../src/client/node';
import { createOpenAITestServer, type OpenAITestServer } from '../../src/testing/node';
import { type CliProcess, spawnCli } from '../utils/spawn-cli';

/** `llm-ws serve` running under Bun, driven by the Node client: the same protocol, the same guarantees. */
describe('llm-ws serve under Bun, with the Node client', () => {
  const { openChat } = useAiSdkChats();
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

  it("serves the HTTP routes beside Bun.serve's WebSockets, and /health names the transport", async () => {
    const base = `http://127.0.0.1:${new URL(url).port}`;
    const health = await (await fetch(`${base}/health`)).json();
    expect(health).toMatchObject({ status: 'ok', connections: 1, transport: 'bun' });
    // Started without the allocator setting docs/guide/node.md recommends: it says so, before listening.
    expect(serve.output()).toMatch(/on Bun, start with MIMALLOC_PURGE_DELAY=-1 .*\n.*listening on/);
    expect(await (await fetch(`${base}/metrics`)).text()).toMatch(/^llm_ws_open_connections 1$/m);
    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/(html|plain)/);
    expect((await fetch(`${base}/nowhere`)).status).toBe(404);
    expect((await fetch(`${base}/health`, { method: 'DELETE' })).status).toBe(405);
  });

  it('answers the AI SDK WebSocket endpoint and the AG-UI POST endpoint', async () => {
    const port = Number(new URL(url).port);
    const { chat, until } = openChat(aiSdkUrl(port));
    await chat.sendMessage({ text: 'over ai-sdk' });
    await until(() => (textOf(lastAssistant(chat)) === 'You said: over ai-sdk' ? true : undefined), 'reply');

    upstream.enqueue({ type: 'text', chunks: ['streamed ', 'as ', 'SSE'] });
    const agent = new HttpAgent({ url: `http://127.0.0.1:${port}/ag-ui`, threadId: 'thread-bun' });
    ask(agent, 'over ag-ui');
    await agent.runAgent();
    expect(lastAssistantOf(agent)).toBe('streamed as SSE');
  });
});

describe('llm-ws serve under Bun with an auth token', () => {
  let serve: CliProcess;
  let upstream: OpenAITestServer;
  afterAll(async () => {
    await serve?.stop();
    await upstream?.close();
  });

  it('refuses upgrades without the token and accepts them with it; /health tells the transport only with it', async () => {
    upstream = await createOpenAITestServer();
    const args = ['serve', '--port', '0', '--host', '127.0.0.1', '--auth-token', 's3cret'];
    serve = spawnCli(args, { OPENAI_BASE_URL: upstream.baseURL, MIMALLOC_PURGE_DELAY: '-1' }, 'bun');
    const url = (await serve.waitForOutput(/listening on (ws:\/\/\S+)/))[1] as string;
    // Started as recommended: no hint.
    expect(serve.output()).not.toMatch(/MIMALLOC_PURGE_DELAY/);
    const refused = new WebSocket(url);
    const status = await new Promise<number | undefined>((resolve) => {
      refused.once('unexpected-response', (request, response) => {
        // Handling the refusal makes ending its request ours (ws's contract).
        request.destroy();
        resolve(response.statusCode);
      });
      refused.once('open', () => {
        refused.close();
        resolve(undefined);
      });
    });
    expect(status).toBe(401);

    const client = new WSClient({ url: `${url}?token=s3cret` });
    await client.connect();
    expect((await client.sendMessage('hi')).fullText).toBe('You said: hi');
    client.disconnect();

    const base = `http://127.0.0.1:${new URL(url).port}`;
    expect(await (await fetch(`${base}/health`)).json()).toEqual({ status: 'ok' });
    const full = await fetch(`${base}/health`, { headers: { authorization: 'Bearer s3cret' } });
    expect(await full.json()).toMatchObject({ transport: 'bun' });
  });
});
