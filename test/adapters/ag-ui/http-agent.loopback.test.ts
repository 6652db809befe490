/**
 * AG-UI's HttpAgent (of `@ag-ui/client`, with its event verification) against llm-ws's AG-UI
 * endpoint over loopback: text, reasoning, tool calls, approvals as interrupts answered with
 * `resume`, one conversation per thread held by the server, errors as RUN_ERROR.
 */
import { HttpAgent } from '@ag-ui/client';
import type { WSServer } from '../../../src/server/ws-server';
import { MAIL_ANN, recordedSendMail } from '../../utils/send-mail-tool';
import { ask, expectMailApproved, lastAssistant } from '../../utils/ag-ui-agent';
import { useLoopbackServer } from '../../utils/loopback-server';

const loopback = useLoopbackServer();

const agentFor = (of: WSServer, threadId: string): HttpAgent =>
  new HttpAgent({ url: `http://127.0.0.1:${of.port as number}/ag-ui`, threadId });

describe('AG-UI HttpAgent on llm-ws', () => {
  it('runs a thread: text streamed as events, the conversation kept by the server', async () => {
    const server = await loopback.start({ builtinTools: false, conversationOptions: { systemPrompt: '' } });
    loopback.upstream.enqueue({ type: 'text', reasoning: ['hmm'], chunks: ['Hello ', 'there'] });
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
    expect(lastAssistant(agent)).toBe('You said: again');
    const seen = (await loopback.upstream.request(1)).body.messages.map(
      (m: { role: string; content: string }) => `${m.role}: ${m.content}`,
    );
    expect(seen).toEqual(['user: hi', 'assistant: Hello there', 'user: again']);
  });

  it('ends a run that needs an approval with an interrupt, and runs the tool when the next run resolves it', async () => {
    const { tool, runs } = recordedSendMail();
    const server = await loopback.start({ builtinTools: false, tools: [tool] });
    loopback.upstream.enqueue(...MAIL_ANN);
    const agent = agentFor(server, 'thread-2');
    ask(agent, 'mail ann');
    await expectMailApproved(agent, runs);
  });

  it('fails a run with RUN_ERROR carrying our error code', async () => {
    const server = await loopback.start({ builtinTools: false });
    loopback.upstream.enqueue({ type: 'error', status: 400, message: 'no such model' });
    const agent = agentFor(server, 'thread-3');
    ask(agent, 'hi');
    const errors: Array<{ code?: string; message: string }> = [];
    await agent.runAgent({}, { onRunErrorEvent: ({ event }) => void errors.push(event) });
    expect(errors).toEqual([
      expect.objectContaining({ code: 'upstream_error', message: expect.stringMatching(/^upstream_error: /) }),
    ]);
  });

  it('refuses a body that is not a RunAgentInput with 400', async () => {
    const server = await loopback.start({ builtinTools: false });
    const response = await fetch(`http://127.0.0.1:${server.port as number}/ag-ui`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ threadId: 't' }),
    });
    expect(response.status).toBe(400);
    expect(await response.text()).toMatch(/^invalid_message: not a RunAgentInput/);
  });

  describe('CORS', () => {
    const preflight = (port: number, origin: string): Promise<Response> =>
      fetch(`http://127.0.0.1:${port}/ag-ui`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
      });

    it('answers an allowed origin: preflight 204, and the run names the origin, without credentials', async () => {
      const server = await loopback.start({ builtinTools: false, allowedOrigins: ['https://app.example'] });
      const allowed = await preflight(server.port as number, 'https://app.example');
      expect(allowed.status).toBe(204);
      expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example');
      expect(allowed.headers.get('access-control-allow-methods')).toBe('POST');
      expect(allowed.headers.get('access-control-allow-headers')).toMatch(/content-type/);
      expect(allowed.headers.get('access-control-allow-credentials')).toBeNull();

      const agent = new HttpAgent({
        url: `http://127.0.0.1:${server.port as number}/ag-ui`,
        threadId: 'cors-1',
        headers: { origin: 'https://app.example' },
      });
      ask(agent, 'hi');
      await agent.runAgent();
      expect(lastAssistant(agent)).toBe('You said: hi');
      const run = await fetch(`http://127.0.0.1:${server.port as number}/ag-ui`, {
        method: 'POST',
        headers: { origin: 'https://app.example', 'content-type': 'application/json' },
        body: '{}',
      });
      expect(run.headers.get('access-control-allow-origin')).toBe('https://app.example');
      expect(run.headers.get('vary')).toBe('Origin');
    });

    it('refuses another origin with 403 and no CORS headers', async () => {
      const server = await loopback.start({ builtinTools: false, allowedOrigins: ['https://app.example'] });
      for (const method of ['OPTIONS', 'POST']) {
        const response = await fetch(`http://127.0.0.1:${server.port as number}/ag-ui`, {
          method,
          headers: { origin: 'https://evil.example', 'content-type': 'application/json' },
          ...(method === 'POST' ? { body: '{}' } : {}),
        });
        expect(response.status).toBe(403);
        expect(response.headers.get('access-control-allow-origin')).toBeNull();
      }
    });
  });
});
