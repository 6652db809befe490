/**
 * AG-UI's HttpAgent (of `@ag-ui/client`, with its event verification) against llm-ws's AG-UI
 * endpoint over loopback: text, reasoning, tool calls, approvals as interrupts answered with
 * `resume`, one conversation per thread held by the server, errors as RUN_ERROR.
 */
import { HttpAgent } from '@ag-ui/client';
import type { WSServer } from '../../../src/server/ws-server';
import { createOpenAITestServer, type OpenAITestServer } from '../../../src/testing/node';
import { defineTool } from '../../../src/tools/types';
import { startServerFor } from '../../utils/test-server';

let upstream: OpenAITestServer;
let server: WSServer | undefined;

beforeEach(async () => {
  upstream = await createOpenAITestServer();
});

afterEach(async () => {
  await server?.stop();
  server = undefined;
  await upstream.close();
});

const agentFor = (of: WSServer, threadId: string): HttpAgent =>
  new HttpAgent({ url: `http://127.0.0.1:${of.port as number}/ag-ui`, threadId });

function ask(agent: HttpAgent, text: string): void {
  agent.addMessage({ id: `u-${agent.messages.length}`, role: 'user', content: text });
}

describe('AG-UI HttpAgent on llm-ws', () => {
  it('runs a thread: text streamed as events, the conversation kept by the server', async () => {
    server = await startServerFor(upstream, { builtinTools: false, conversationOptions: { systemPrompt: '' } });
    upstream.enqueue({ type: 'text', reasoning: ['hmm'], chunks: ['Hello ', 'there'] });
    const agent = agentFor(server, 'thread-1');
    const types: string[] = [];
    ask(agent, 'hi');
    await agent.runAgent({}, { onEvent: ({ event }) => void types.push(event.type) });
    expect(types[0]).toBe('RUN_STARTED');
    expect(types.at(-1)).toBe('RUN_FINISHED');
    expect(types).toEqual(expect.arrayContaining(['REASONING_START', 'TEXT_MESSAGE_START', 'TEXT_MESSAGE_CONTENT']));
    const reply = agent.messages.filter((message) => message.role === 'assistant').at(-1);
    expect(reply?.content).toBe('Hello there');

    ask(agent, 'again');
    await agent.runAgent();
    expect(agent.messages.filter((message) => message.role === 'assistant').at(-1)?.content).toBe('You said: again');
    const seen = (await upstream.request(1)).body.messages.map(
      (m: { role: string; content: string }) => `${m.role}: ${m.content}`,
    );
    expect(seen).toEqual(['user: hi', 'assistant: Hello there', 'user: again']);
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
    const agent = agentFor(server, 'thread-2');
    ask(agent, 'mail ann');
    await agent.runAgent();
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
    expect(agent.messages.filter((message) => message.role === 'assistant').at(-1)?.content).toBe('Mail sent.');
  });

  it('fails a run with RUN_ERROR carrying our error code', async () => {
    server = await startServerFor(upstream, { builtinTools: false });
    upstream.enqueue({ type: 'error', status: 400, message: 'no such model' });
    const agent = agentFor(server, 'thread-3');
    ask(agent, 'hi');
    const errors: Array<{ code?: string; message: string }> = [];
    await agent.runAgent({}, { onRunErrorEvent: ({ event }) => void errors.push(event) });
    expect(errors).toEqual([
      expect.objectContaining({ code: 'upstream_error', message: expect.stringMatching(/^upstream_error: /) }),
    ]);
  });

  it('refuses a body that is not a RunAgentInput with 400', async () => {
    server = await startServerFor(upstream, { builtinTools: false });
    const response = await fetch(`http://127.0.0.1:${server.port as number}/ag-ui`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ threadId: 't' }),
    });
    expect(response.status).toBe(400);
    expect(await response.text()).toMatch(/^invalid_message: not a RunAgentInput/);
  });
});
