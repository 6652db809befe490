/**
 * `LlmWsAgent` (llm-ws/ag-ui) driven by the real `@ag-ui/client` (`runAgent`, with its event
 * verification) over a real WSClient to a real server on loopback: text and reasoning, the
 * conversation kept by the server, a connection cut mid-run that resumes with every delta once,
 * approvals as interrupts answered with `resume`, errors as RUN_ERROR, abortRun.
 */
import type { BaseEvent } from '@ag-ui/client';
import { humanInTheLoop } from '../../src/client/human-in-the-loop';
import { LlmWsAgent } from '../../src/ag-ui';
import type { WSServer } from '../../src/server/ws-server';
import { ask, expectMailApproved, lastAssistant } from '../utils/ag-ui-agent';
import { MAIL_ANN, recordedSendMail } from '../utils/send-mail-tool';
import { useServeProcesses } from '../utils/serve-processes';

const served = useServeProcesses();

/** An agent over a client that reaches the server through a proxy the test can cut. */
async function agentThroughProxy(of: WSServer): Promise<LlmWsAgent> {
  const client = await served.clientThrough(of.port as number, {
    humanInTheLoop,
    maxReconnectDelay: 100,
    reconnectAttempts: 20,
  });
  return new LlmWsAgent({ client, threadId: 'thread-1' });
}

describe('LlmWsAgent on llm-ws', () => {
  it('runs a thread over the WebSocket: reasoning and text as events, the conversation kept by the server', async () => {
    const server = await served.startServer({ builtinTools: false, conversationOptions: { systemPrompt: '' } });
    served.upstream.enqueue({ type: 'text', reasoning: ['hmm'], chunks: ['Hello ', 'there'] });
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
    const seen = (await served.upstream.request(1)).body.messages.map(
      (m: { role: string; content: string }) => `${m.role}: ${m.content}`,
    );
    expect(seen).toEqual(['user: hi', 'assistant: Hello there', 'user: again']);
  });

  it('resumes a run whose connection is cut mid-reply: every text delta once, one model request', async () => {
    const server = await served.startServer({ builtinTools: false });
    const chunks = Array.from({ length: 120 }, (_, i) => `c${i} `);
    served.upstream.enqueue({ type: 'text', chunks, delayMs: 3 });
    const agent = await agentThroughProxy(server);
    const deltas: string[] = [];
    ask(agent, 'count');
    await agent.runAgent(
      {},
      {
        onTextMessageContentEvent: ({ event }) => {
          deltas.push(event.delta);
          if (deltas.length === 30 || deltas.length === 80) served.proxy?.cutAll();
        },
      },
    );
    expect(deltas).toEqual(chunks);
    expect(lastAssistant(agent)).toBe(chunks.join(''));
    expect(served.upstream.requests).toHaveLength(1);
    expect(served.proxy?.connections).toBe(3);
  });

  it('ends a run that needs an approval with an interrupt, and runs the tool when the next run resolves it', async () => {
    const { tool, runs } = recordedSendMail();
    const server = await served.startServer({ builtinTools: false, tools: [tool] });
    served.upstream.enqueue(...MAIL_ANN);
    const agent = await agentThroughProxy(server);
    ask(agent, 'mail ann');
    const calls: string[] = [];
    await expectMailApproved(agent, runs, () =>
      agent.runAgent({}, { onToolCallStartEvent: ({ event }) => void calls.push(event.toolCallName) }),
    );
    expect(calls).toEqual(['send_mail']);
  });

  it('denies a tool call when the interrupt is cancelled: the tool never runs, the model is told', async () => {
    const { tool, runs } = recordedSendMail();
    const server = await served.startServer({ builtinTools: false, tools: [tool] });
    served.upstream.enqueue(
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
    const server = await served.startServer({ builtinTools: false });
    served.upstream.enqueue({ type: 'error', status: 400, message: 'no such model' });
    const agent = await agentThroughProxy(server);
    ask(agent, 'hi');
    const errors: Array<{ code?: string; message: string }> = [];
    await agent.runAgent({}, { onRunErrorEvent: ({ event }) => void errors.push(event) });
    expect(errors).toEqual([
      expect.objectContaining({ code: 'upstream_error', message: expect.stringMatching(/^upstream_error: /) }),
    ]);
  });

  it('refuses a run with no user message to answer with RUN_ERROR invalid_message, sending nothing', async () => {
    const server = await served.startServer({ builtinTools: false });
    const agent = await agentThroughProxy(server);
    agent.addMessage({ id: 'a-0', role: 'assistant', content: 'Hello' });
    const errors: Array<{ code?: string; message: string }> = [];
    await agent.runAgent({}, { onRunErrorEvent: ({ event }) => void errors.push(event) });
    expect(errors).toEqual([
      expect.objectContaining({ code: 'invalid_message', message: expect.stringMatching(/user message/) }),
    ]);
    expect(served.upstream.requests).toHaveLength(0);
  });

  it('aborts the reply and its model request on abortRun', async () => {
    const server = await served.startServer({ builtinTools: false });
    served.upstream.enqueue({ type: 'text', chunks: Array.from({ length: 500 }, () => 'x'), delayMs: 5 });
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
    const request = await served.upstream.request(0);
    expect(await request.ended).toBe('client_closed');
    expect(request.eventsSent).toBeLessThan(500);
  });
});
