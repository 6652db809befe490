import fc from 'fast-check';
import type { ServerMessage } from '../../src/protocol/codecs';
import { defineTool } from '../../src/tools/types';
import { useLoopbackServer } from '../utils/loopback-server';
import { type TestClient, userMessage } from '../utils/ws-test-client';
import { withoutIds } from '../utils/history';

/**
 * Human in the loop over real sockets, with the OpenAI-compatible test server as the model:
 * tool calls that wait for the user's approval, tools that run on the client, and reasoning.
 */
const loopback = useLoopbackServer();

/** A tool with a side effect worth asking about, recording each run. */
function mailTool(runs: unknown[]) {
  return defineTool({
    name: 'send_mail',
    description: 'Sends an e-mail',
    parameters: { type: 'object', properties: { to: { type: 'string' } }, required: ['to'] },
    needsApproval: true,
    execute: (args: { to: string }) => {
      runs.push(args);
      return { sent: true, to: args.to };
    },
  });
}

const toolCalls = (client: TestClient, requestId: string) =>
  client.forRequest(requestId).flatMap((m) => (m.type === 'tool_call' ? [[m.data.toolName, m.data.status]] : []));

/** The tool messages the model was sent in its `index`-th request. */
const toolMessagesOf = async (index: number) =>
  ((await loopback.upstream.request(index)).body.messages as Array<{ role: string; content: string }>)
    .filter((m) => m.role === 'tool')
    .map((m) => m.content);

describe('tool approval over loopback', () => {
  const askToMail = () =>
    loopback.upstream.enqueue(
      { type: 'tool_calls', calls: [{ id: 'call_mail', name: 'send_mail', arguments: { to: 'boss@example.com' } }] },
      { type: 'text', chunks: ['Done.'] },
    );

  it('waits for the approval, then runs the tool and goes on', async () => {
    const runs: unknown[] = [];
    await loopback.start({ tools: [mailTool(runs)], builtinTools: false, approvalTimeoutMs: 60_000 });
    askToMail();
    const client = await loopback.connect();
    client.send(userMessage('m1', 'mail the boss'));
    const asked = await client.waitFor('tool_call', (m) => m.data.status === 'approval_required');
    expect(asked.data).toMatchObject({
      toolCallId: 'call_mail',
      toolName: 'send_mail',
      args: { to: 'boss@example.com' },
      requestId: 'm1',
      timeoutMs: 60_000,
    });
    expect(typeof asked.seq).toBe('number');
    // Nothing runs, and the model is not called again, while the user thinks.
    client.send({ type: 'control', id: 's1', data: { type: 'get_status' } });
    expect((await client.waitFor('status', (m) => m.data.requestId === 's1')).data.status).toBe('calling_tool');
    expect(runs).toEqual([]);
    expect(loopback.upstream.requests).toHaveLength(1);
    client.send({ type: 'tool_approval', id: 'a1', data: { toolCallId: 'call_mail', approved: true } });
    const complete = await client.waitFor('llm_complete');
    expect(complete.data).toMatchObject({ fullText: 'Done.', finishReason: 'stop' });
    expect(runs).toEqual([{ to: 'boss@example.com' }]);
    expect(toolCalls(client, 'm1')).toEqual([
      ['send_mail', 'approval_required'],
      ['send_mail', 'start'],
      ['send_mail', 'complete'],
    ]);
    expect(await toolMessagesOf(1)).toEqual(['{"sent":true,"to":"boss@example.com"}']);
  });

  it('on a denial, does not run the tool and tells the model the user declined, with the reason', async () => {
    const runs: unknown[] = [];
    await loopback.start({ tools: [mailTool(runs)], builtinTools: false });
    askToMail();
    const client = await loopback.connect();
    client.send(userMessage('m1', 'mail the boss'));
    await client.waitFor('tool_call', (m) => m.data.status === 'approval_required');
    client.send({
      type: 'tool_approval',
      id: 'a1',
      data: { toolCallId: 'call_mail', approved: false, reason: 'not on a Friday' },
    });
    await client.waitFor('llm_complete');
    expect(runs).toEqual([]);
    expect(toolCalls(client, 'm1')).toEqual([
      ['send_mail', 'approval_required'],
      ['send_mail', 'denied'],
    ]);
    expect((await client.waitFor('tool_call', (m) => m.data.status === 'denied')).data.reason).toBe('not on a Friday');
    expect((await client.waitFor('tool_result')).data.error).toBe(
      'the user declined to run send_mail: not on a Friday',
    );
    expect(await toolMessagesOf(1)).toEqual(['Error: the user declined to run send_mail: not on a Friday']);
  });

  it('counts no answer within approvalTimeoutMs as a denial', async () => {
    const runs: unknown[] = [];
    await loopback.start({ tools: [mailTool(runs)], builtinTools: false, approvalTimeoutMs: 150 });
    askToMail();
    const client = await loopback.connect();
    client.send(userMessage('m1', 'mail the boss'));
    const denied = await client.waitFor('tool_call', (m) => m.data.status === 'denied');
    expect(denied.data.reason).toBe('no answer from the user within 150 ms');
    await client.waitFor('llm_complete');
    // Not "the user declined": nobody answered.
    expect(await toolMessagesOf(1)).toEqual(['Error: no answer from the user within 150 ms; the tool was not run']);
    expect(runs).toEqual([]);
    // Too late: the call waits no more.
    client.send({ type: 'tool_approval', id: 'late', data: { toolCallId: 'call_mail', approved: true } });
    expect((await client.waitFor('error', (m) => m.data.requestId === 'late')).data.code).toBe('unknown_tool_call');
    expect(runs).toEqual([]);
  });

  it('ends the reply on an abort while waiting, and the tool never runs', async () => {
    const runs: unknown[] = [];
    await loopback.start({ tools: [mailTool(runs)], builtinTools: false });
    askToMail();
    const client = await loopback.connect();
    client.send(userMessage('m1', 'mail the boss'));
    await client.waitFor('tool_call', (m) => m.data.status === 'approval_required');
    client.send({ type: 'control', id: 'c1', data: { type: 'abort', requestId: 'm1' } });
    expect((await client.waitFor('llm_complete')).data.finishReason).toBe('aborted');
    await client.waitFor('status', (m) => m.data.status === 'idle');
    client.send({ type: 'tool_approval', id: 'a1', data: { toolCallId: 'call_mail', approved: true } });
    expect((await client.waitFor('error', (m) => m.data.requestId === 'a1')).data.code).toBe('unknown_tool_call');
    expect(runs).toEqual([]);
    expect(loopback.upstream.requests).toHaveLength(1);
  });

  it('takes the answer on a new connection after a cut: the reply waited, and the stream goes on there', async () => {
    const runs: unknown[] = [];
    await loopback.start({ tools: [mailTool(runs)], builtinTools: false });
    askToMail();
    const first = await loopback.connect();
    const { sessionId, resumeToken } = (await first.waitFor('session')).data;
    first.send(userMessage('m1', 'mail the boss'));
    const asked = await first.waitFor('tool_call', (m) => m.data.status === 'approval_required');
    first.socket.terminate();
    await first.closed;
    const second = await loopback.connect();
    second.send({ type: 'resume', id: 'r1', data: { sessionId, resumeToken, lastSeq: asked.seq } });
    await second.waitFor('session', (m) => m.data.resumed === true);
    second.send({ type: 'tool_approval', id: 'a1', data: { toolCallId: 'call_mail', approved: true } });
    expect((await second.waitFor('llm_complete')).data.fullText).toBe('Done.');
    expect(runs).toHaveLength(1);
  });

  it('refuses an answer that names no waiting call, and a result for a call that waits for an approval', async () => {
    await loopback.start({ tools: [mailTool([])], builtinTools: false });
    askToMail();
    const client = await loopback.connect();
    client.send({ type: 'tool_approval', id: 'a0', data: { toolCallId: 'nope', approved: true } });
    expect((await client.waitFor('error', (m) => m.data.requestId === 'a0')).data).toMatchObject({
      code: 'unknown_tool_call',
      retryable: false,
    });
    client.send(userMessage('m1', 'mail the boss'));
    await client.waitFor('tool_call', (m) => m.data.status === 'approval_required');
    client.send({ type: 'tool_result', id: 't1', data: { toolCallId: 'call_mail', result: 'sent' } });
    expect((await client.waitFor('error', (m) => m.data.requestId === 't1')).data.code).toBe('unknown_tool_call');
    client.send({ type: 'tool_approval', id: 'a1', data: { toolCallId: 'call_mail', approved: false } });
    await client.waitFor('llm_complete');
  });

  it('gives calls the model sent with one id ids of their own: the call that runs is the one approved', async () => {
    const runs: unknown[] = [];
    await loopback.start({ tools: [mailTool(runs)], builtinTools: false, approvalTimeoutMs: 60_000 });
    // A model (or a proxy) that repeats an id within one response, then again in its next call.
    loopback.upstream.enqueue(
      {
        type: 'tool_calls',
        calls: [
          { id: 'call_dup', name: 'send_mail', arguments: { to: 'friend@example.com' } },
          { id: 'call_dup', name: 'send_mail', arguments: { to: 'everyone@example.com' } },
        ],
      },
      { type: 'tool_calls', calls: [{ id: 'call_dup', name: 'send_mail', arguments: { to: 'boss@example.com' } }] },
      { type: 'text', chunks: ['Done.'] },
    );
    const client = await loopback.connect();
    client.send(userMessage('m1', 'mail them'));
    await client.waitFor('tool_call', (m) => m.data.status === 'approval_required' && m.data.toolCallId !== 'call_dup');
    const cards = client
      .forRequest('m1')
      .flatMap((m) => (m.type === 'tool_call' && m.data.status === 'approval_required' ? [m.data] : []));
    expect(cards.map(({ toolCallId, args }) => [toolCallId, args])).toEqual([
      ['call_dup', { to: 'friend@example.com' }],
      ['call_dup_2', { to: 'everyone@example.com' }],
    ]);
    client.send({ type: 'tool_approval', id: 'a1', data: { toolCallId: 'call_dup', approved: true } });
    client.send({ type: 'tool_approval', id: 'a2', data: { toolCallId: 'call_dup_2', approved: false } });
    // The next model call repeats the id of an earlier one: it is renamed past the ids the reply used.
    const third = await client.waitFor(
      'tool_call',
      (m) => m.data.status === 'approval_required' && m.data.toolCallId === 'call_dup_3',
    );
    expect(third.data.args).toEqual({ to: 'boss@example.com' });
    client.send({ type: 'tool_approval', id: 'a3', data: { toolCallId: 'call_dup_3', approved: false } });
    await client.waitFor('llm_complete');
    expect(runs).toEqual([{ to: 'friend@example.com' }]);
    // The model sees each call's own answer, under the id the server gave it.
    const secondRequest = (await loopback.upstream.request(1)).body.messages as Array<Record<string, unknown>>;
    expect(secondRequest.filter((m) => m.role === 'tool').map((m) => [m.tool_call_id, m.content])).toEqual([
      ['call_dup', '{"sent":true,"to":"friend@example.com"}'],
      ['call_dup_2', 'Error: the user declined to run send_mail'],
    ]);
    expect(
      (secondRequest.find((m) => m.role === 'assistant')?.tool_calls as Array<{ id: string }>).map((c) => c.id),
    ).toEqual(['call_dup', 'call_dup_2']);
  });
});

describe('client tools over loopback', () => {
  const clock = {
    name: 'get_browser_time',
    description: "The browser's clock",
    parameters: { type: 'object', properties: {} },
  };
  const askTheClock = () =>
    loopback.upstream.enqueue(
      { type: 'tool_calls', calls: [{ id: 'call_clock', name: 'get_browser_time', arguments: {} }] },
      { type: 'text', chunks: ['It is noon.'] },
    );
  const sendWithClock = (client: TestClient) =>
    client.send({ type: 'user_message', id: 'm1', data: { text: 'what time is it here?', clientTools: [clock] } });

  it.each([
    ['nested 10,000 levels deep', `${'['.repeat(10_000)}1${']'.repeat(10_000)}`],
    ['nested 100 levels deep in objects', `${'{"a":'.repeat(100)}1${'}'.repeat(100)}`],
  ])('makes a client tool result %s a tool error the model sees, never internal_error', async (_name, result) => {
    await loopback.start();
    askTheClock();
    const client = await loopback.connect();
    sendWithClock(client);
    await client.waitFor('tool_call', (m) => m.data.status === 'client_execute');
    // Written by hand: JSON.stringify itself cannot go that deep.
    client.sendRaw(`{"type":"tool_result","id":"t1","data":{"toolCallId":"call_clock","result":${result}}}`);
    expect((await client.waitFor('llm_complete')).data.fullText).toBe('It is noon.');
    expect(client.received.filter((m) => m.type === 'error')).toEqual([]);
    const error = 'the result of get_browser_time nests deeper than 64 levels; this server takes at most 64';
    expect((await client.waitFor('tool_result')).data).toMatchObject({ toolCallId: 'call_clock', error });
    expect(await toolMessagesOf(1)).toEqual([`Error: ${error}`]);
  });

  it('offers the client tool to the model, asks the client to run it, and feeds its result back', async () => {
    await loopback.start();
    askTheClock();
    const client = await loopback.connect();
    sendWithClock(client);
    const asked = await client.waitFor('tool_call', (m) => m.data.status === 'client_execute');
    expect(asked.data).toMatchObject({ toolCallId: 'call_clock', toolName: 'get_browser_time', requestId: 'm1' });
    const offered = (await loopback.upstream.request(0)).body.tools.map(
      (tool: { function: { name: string } }) => tool.function.name,
    );
    expect(offered).toEqual(['get_current_time', 'calculate', 'get_browser_time']);
    client.send({ type: 'tool_result', id: 't1', data: { toolCallId: 'call_clock', result: { local: '12:00' } } });
    expect((await client.waitFor('llm_complete')).data.fullText).toBe('It is noon.');
    expect(toolCalls(client, 'm1')).toEqual([
      ['get_browser_time', 'client_execute'],
      ['get_browser_time', 'complete'],
    ]);
    expect((await client.waitFor('tool_result')).data).toMatchObject({
      toolCallId: 'call_clock',
      result: { local: '12:00' },
    });
    expect(await toolMessagesOf(1)).toEqual(['{"local":"12:00"}']);
    // Declared for that message only.
    loopback.upstream.enqueue({ type: 'text', chunks: ['ok'] });
    client.send(userMessage('m2', 'thanks'));
    await client.waitFor('llm_complete', (m) => m.data.requestId === 'm2');
    expect(
      (await loopback.upstream.request(2)).body.tools.map((tool: { function: { name: string } }) => tool.function.name),
    ).toEqual(['get_current_time', 'calculate']);
  });

  it('tells the model the tool failed when the client does not answer within clientToolTimeoutMs', async () => {
    await loopback.start({ clientToolTimeoutMs: 150 });
    askTheClock();
    const client = await loopback.connect();
    sendWithClock(client);
    await client.waitFor('llm_complete');
    expect((await client.waitFor('tool_result')).data.error).toBe(
      'the client did not run get_browser_time within 150 ms',
    );
    expect(await toolMessagesOf(1)).toEqual(['Error: the client did not run get_browser_time within 150 ms']);
  });

  it('refuses a result larger than maxClientToolResultBytes: the model gets an error instead', async () => {
    await loopback.start({ maxClientToolResultBytes: 64 });
    askTheClock();
    const client = await loopback.connect();
    sendWithClock(client);
    await client.waitFor('tool_call', (m) => m.data.status === 'client_execute');
    client.send({ type: 'tool_result', id: 't1', data: { toolCallId: 'call_clock', result: 'x'.repeat(100) } });
    await client.waitFor('llm_complete');
    expect(toolCalls(client, 'm1')).toEqual([
      ['get_browser_time', 'client_execute'],
      ['get_browser_time', 'error'],
    ]);
    expect(await toolMessagesOf(1)).toEqual([
      'Error: the result of get_browser_time has 102 bytes; this server takes at most 64',
    ]);
  });

  it("passes the client's error to the model", async () => {
    await loopback.start();
    askTheClock();
    const client = await loopback.connect();
    sendWithClock(client);
    await client.waitFor('tool_call', (m) => m.data.status === 'client_execute');
    client.send({ type: 'tool_result', id: 't1', data: { toolCallId: 'call_clock', error: 'no clock here' } });
    await client.waitFor('llm_complete');
    expect(await toolMessagesOf(1)).toEqual(['Error: no clock here']);
  });

  it('refuses a client tool named like a server tool with invalid_client_tools, before calling the model', async () => {
    await loopback.start();
    const client = await loopback.connect();
    client.send({
      type: 'user_message',
      id: 'm1',
      data: { text: 'hi', clientTools: [{ ...clock, name: 'calculate' }] },
    });
    const error = await client.waitFor('error', (m) => m.data.requestId === 'm1');
    expect(error.data).toMatchObject({ code: 'invalid_client_tools', retryable: false });
    expect(error.data.message).toMatch(/calculate has the name of one of this server's tools/);
    expect(loopback.upstream.requests).toHaveLength(0);
  });
});

describe('reasoning over loopback', () => {
  const framesOf = (client: TestClient, requestId: string) => client.forRequest(requestId);
  const reasoningOf = (frames: ServerMessage[]) =>
    frames.flatMap((m) => (m.type === 'llm_reasoning' ? [m.data.chunk] : [])).join('');

  it('streams reasoning as llm_reasoning frames, out of fullText, with reasoning tokens in the usage; history keeps it only when told', async () => {
    await loopback.start({ keepReasoning: true });
    loopback.upstream.enqueue({ type: 'text', reasoning: ['Multiply ', 'first.'], chunks: ['14'] });
    const client = await loopback.connect();
    client.send(userMessage('m1', '2+3*4?'));
    const complete = await client.waitFor('llm_complete');
    expect(complete.data.fullText).toBe('14');
    expect(complete.data.usage?.reasoningTokens).toBe(2);
    const frames = framesOf(client, 'm1');
    expect(frames.map((m) => m.type)).toEqual([
      'status',
      'llm_reasoning',
      'llm_reasoning',
      'status',
      'llm_chunk',
      'llm_chunk',
      'llm_complete',
      'status',
    ]);
    expect(reasoningOf(frames)).toBe('Multiply first.');
    client.send({ type: 'control', id: 'h', data: { type: 'get_history' } });
    const history = await client.waitFor('history');
    expect(withoutIds(history.data.messages).at(-1)).toEqual({
      role: 'assistant',
      content: '14',
      reasoning: 'Multiply first.',
    });
    // Never sent back to the model.
    loopback.upstream.enqueue({ type: 'text', chunks: ['ok'] });
    client.send(userMessage('m2', 'and?'));
    await client.waitFor('llm_complete', (m) => m.data.requestId === 'm2');
    expect(JSON.stringify((await loopback.upstream.request(1)).body.messages)).not.toContain('Multiply');
  });

  it('keeps no reasoning in history by default', async () => {
    await loopback.start();
    loopback.upstream.enqueue({ type: 'text', reasoning: ['Hm.'], reasoningField: 'reasoning', chunks: ['Hi'] });
    const client = await loopback.connect();
    client.send(userMessage('m1', 'hi'));
    await client.waitFor('llm_complete');
    expect(reasoningOf(framesOf(client, 'm1'))).toBe('Hm.');
    client.send({ type: 'control', id: 'h', data: { type: 'get_history' } });
    expect(withoutIds((await client.waitFor('history')).data.messages).at(-1)).toEqual({
      role: 'assistant',
      content: 'Hi',
    });
  });

  it('delivers reasoning and text whole and apart, wherever the upstream splits them (fast-check)', async () => {
    await loopback.start();
    const client = await loopback.connect();
    let n = 0;
    const split = (text: string, cuts: number[]) => {
      const at = [...new Set(cuts.map((cut) => cut % (text.length + 1)))].sort((a, b) => a - b);
      return [0, ...at, text.length]
        .slice(1)
        .map((end, i, ends) => text.slice(i === 0 ? 0 : (ends[i - 1] as number), end))
        .filter(Boolean);
    };
    await fc.assert(
      fc.asyncProperty(
        fc.string({ minLength: 1, maxLength: 40 }),
        fc.string({ maxLength: 40 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        async (reasoning, text, reasoningCuts, textCuts) => {
          const id = `m${n++}`;
          loopback.upstream.enqueue({
            type: 'text',
            reasoning: split(reasoning, reasoningCuts),
            chunks: split(text, textCuts),
          });
          client.send(userMessage(id, 'go'));
          const complete = await client.waitFor('llm_complete', (m) => m.data.requestId === id);
          await client.waitFor('status', (m) => m.data.requestId === id && m.data.status === 'idle');
          const frames = framesOf(client, id);
          expect(reasoningOf(frames)).toBe(reasoning);
          expect(frames.flatMap((m) => (m.type === 'llm_chunk' ? [m.data.chunk] : [])).join('')).toBe(text);
          expect(complete.data.fullText).toBe(text);
        },
      ),
      { numRuns: 25 },
    );
  });
});
