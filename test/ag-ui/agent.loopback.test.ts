/**
 * `LlmWsAgent` (llm-ws/ag-ui) driven by the real `@ag-ui/client` (`runAgent`, with its event
 * verification) over a real WSClient to a real server on loopback: text and reasoning, the
 * conversation kept by the server, a connection cut mid-run that resumes with every delta once,
 * approvals as interrupts answered with `resume`, errors as RUN_ERROR, abortRun.
 */
import type { BaseEvent } from '@ag-ui/client';
import { LlmWsAgent } from '../../src/ag-ui';
import { WSClient } from '../../src/client/node';
import type { WSServer } from '../../src/server/ws-server';
import { createOpenAITestServer, type OpenAITestServer } from '../../src/testing/node';
import { defineTool } from '../../src/tools/types';
import { createTcpProxy, type TcpProxy } from '../utils/tcp-proxy';
import { startServerFor } from '../utils/test-server';

let upstream: OpenAITestServer;
let server: WSServer | undefined;
let proxy: TcpProxy | undefined;
let client: WSClient | undefined;

beforeEach(async () => {
  upstream = await createOpenAITestServer();
});

afterEach(async () => {
  client?.disconnect();
  client = undefined;
  await proxy?.close();
  proxy = undefined;
  await server?.stop();
  server = undefined;
  await upstream.close();
});

/** An agent over a client that reaches the server through a proxy the test can cut. */
async function agentThroughProxy(of: WSServer): Promise<LlmWsAgent> {
  proxy = await createTcpProxy(of.port as number);
  client = new WSClient({
    url: `ws://127.0.0.1:${proxy.port}/ws`,
    reconnectDelay: 20,
    maxReconnectDelay: 100,
    reconnectAttempts: 20,
  });
  await client.connect();
  return new LlmWsAgent({ client, threadId: 'thread-1' });
}

function ask(agent: LlmWsAgent, text: string): void {
  agent.addMessage({ id: `u-${agent.messages.length}`, role: 'user', content: text });
}

const lastAssistant = (agent: LlmWsAgent): unknown =>
  agent.messages.filter((message) => message.role === 'assistant').at(-1)?.content;

describe('LlmWsAgent on llm-ws', () => {
  it('runs a thread over the WebSocket: reasoning and text as events, the conversation kept by the server', async () => {
    server = await startServerFor(upstream, { builtinTools: false, conversationOptions: { systemPrompt: '' } });
    upstream.enqueue({ type: 'text', reasoning: ['hmm'], chunks: ['Hello ', 'there'] });
    const agent = await agentThroughProxy(server);
    const events: BaseEvent[] = [];
    ask(agent, 'hi');
    await agent.runAgent({}, { onEvent: ({ event }) => void events.push(event) });
    expect(events.map((event) => event.type)).toEqual([
      'RUN_STARTED',
      'REASONING_START',
      'REASONING_MESSAGE_START',
      'REASONING_MESSAGE_CONTENT',
      'REASONING_MESSAGE_END',
      'REASONING_END',
      'TEXT_MESSAGE_START',
      'TEXT_MESSAGE_CONTENT',
      'TEXT_MESSAGE_CONTENT',
      'TEXT_MESSAGE_END',
      'RUN_FINISHED',
    ]);
    expect(lastAssistant(agent)).toBe('Hello there');

    ask(agent, 'again');
    await agent.runAgent();
    expect(lastAssistant(agent)).toBe('You said: again');
    const seen = (await upstream.request(1)).body.messages.map(
      (m: { role: string; content: string }) => `${m.role}: ${m.content}`,
    );
    expect(seen).toEqual(['user: hi', 'assistant: Hello there', 'user: again']);
  });

  it('resumes a run whose connection is cut mid-reply: every text delta once, one model request', async () => {
    server = await startServerFor(upstream, { builtinTools: false });
    const chunks = Array.from({ length: 120 }, (_, i) => `c${i} `);
    upstream.enqueue({ type: 'text', chunks, delayMs: 3 });
    const agent = await agentThroughProxy(server);
    const deltas: string[] = [];
    ask(agent, 'count');
    await agent.runAgent(
      {},
      {
        onTextMessageContentEvent: ({ event }) => {
          deltas.push(event.delta);
          if (deltas.length === 30 || deltas.length === 80) (proxy as TcpProxy).cutAll();
        },
      },
    );
    expect(deltas).toEqual(chunks);
    expect(lastAssistant(agent)).toBe(chunks.join(''));
    expect(upstream.requests).toHaveLength(1);
    expect(proxy?.connections).toBe(3);
  });

  it('ends a run that needs an approval with an interrupt, and runs the tool when the next run resolves it', async () => {
    const runs: unknown[] = [];
    server = await startServerFor(upstream, {
      builtinTools: false,
      tools: [
        defineTool({
          name: 'send_mail',
          description: 'Sends an e-mail',
          parameters: { type: 'object', properties: { to: { type: 'string' } } },
          needsApproval: true,
          execute: (args) => {
            runs.push(args);
            return { sent: true };
          },
        }),
      ],
    });
    upstream.enqueue(
      { type: 'tool_calls', calls: [{ id: 'call_1', name: 'send_mail', arguments: { to: 'ann' } }] },
      { type: 'text', chunks: ['Mail sent.'] },
    );
    const agent = await agentThroughProxy(server);
    ask(agent, 'mail ann');
    const calls: string[] = [];
    await agent.runAgent({}, { onToolCallStartEvent: ({ event }) => void calls.push(event.toolCallName) });
    expect(calls).toEqual(['send_mail']);
    expect(agent.pendingInterrupts).toEqual([
      expect.objectContaining({ id: 'call_1', reason: 'tool_approval', toolCallId: 'call_1' }),
    ]);
    expect(runs).toEqual([]);
    const results: string[] = [];
    await agent.runAgent(
      { resume: [{ interruptId: 'call_1', status: 'resolved', payload: { approved: true } }] },
      { onToolCallResultEvent: ({ event }) => void results.push(String(event.content)) },
    );
    expect(runs).toEqual([{ to: 'ann' }]);
    expect(results).toEqual(['{"sent":true}']);
    expect(agent.pendingInterrupts).toEqual([]);
    expect(lastAssistant(agent)).toBe('Mail sent.');
  });

  it('denies a tool call when the interrupt is cancelled: the tool never runs, the model is told', async () => {
    const runs: unknown[] = [];
    server = await startServerFor(upstream, {
      builtinTools: false,
      tools: [
        defineTool({
          name: 'send_mail',
          description: 'Sends an e-mail',
          parameters: { type: 'object', properties: {} },
          needsApproval: true,
          execute: () => void runs.push(1),
        }),
      ],
    });
    upstream.enqueue(
      { type: 'tool_calls', calls: [{ id: 'call_2', name: 'send_mail', arguments: {} }] },
      { type: 'text', chunks: ['Not sent.'] },
    );
    const agent = await agentThroughProxy(server);
    ask(agent, 'mail');
    await agent.runAgent();
    const results: string[] = [];
    await agent.runAgent(
      { resume: [{ interruptId: 'call_2', status: 'cancelled', payload: { reason: 'not now' } }] },
      { onToolCallResultEvent: ({ event }) => void results.push(String(event.content)) },
    );
    expect(runs).toEqual([]);
    expect(results).toEqual(['{"denied":true}']);
    expect(lastAssistant(agent)).toBe('Not sent.');
  });

  it('fails a run with RUN_ERROR carrying our error code', async () => {
    server = await startServerFor(upstream, { builtinTools: false });
    upstream.enqueue({ type: 'error', status: 400, message: 'no such model' });
    const agent = await agentThroughProxy(server);
    ask(agent, 'hi');
    const errors: Array<{ code?: string; message: string }> = [];
    await agent.runAgent({}, { onRunErrorEvent: ({ event }) => void errors.push(event) });
    expect(errors).toEqual([
      expect.objectContaining({ code: 'upstream_error', message: expect.stringMatching(/^upstream_error: /) }),
    ]);
  });

  it('refuses a run with no user message to answer with RUN_ERROR invalid_message, sending nothing', async () => {
    server = await startServerFor(upstream, { builtinTools: false });
    const agent = await agentThroughProxy(server);
    agent.addMessage({ id: 'a-0', role: 'assistant', content: 'Hello' });
    const errors: Array<{ code?: string; message: string }> = [];
    await agent.runAgent({}, { onRunErrorEvent: ({ event }) => void errors.push(event) });
    expect(errors).toEqual([
      expect.objectContaining({ code: 'invalid_message', message: expect.stringMatching(/user message/) }),
    ]);
    expect(upstream.requests).toHaveLength(0);
  });

  it('aborts the reply and its model request on abortRun', async () => {
    server = await startServerFor(upstream, { builtinTools: false });
    upstream.enqueue({ type: 'text', chunks: Array.from({ length: 500 }, () => 'x'), delayMs: 5 });
    const agent = await agentThroughProxy(server);
    ask(agent, 'long');
    let deltas = 0;
    const done = agent.runAgent(
      {},
      {
        onTextMessageContentEvent: () => {
          if (++deltas === 5) agent.abortRun();
        },
      },
    );
    await done.catch(() => undefined);
    const request = await upstream.request(0);
    expect(await request.ended).toBe('client_closed');
    expect(request.eventsSent).toBeLessThan(500);
  });
});
