/**
 * The ecosystem's clients on two `llm-ws serve --redis-url` processes behind one address (a TCP
 * proxy standing in for a load balancer without sticky sessions): `ai` 7's Chat on the AI SDK
 * endpoint, `@ag-ui/client`'s HttpAgent on the AG-UI endpoint and `LlmWsAgent` over the
 * WebSocket, each with a run started on one process and resumed or continued on the other.
 */
import { HttpAgent } from '@ag-ui/client';
import { filter, firstValueFrom } from 'rxjs';
import { LlmWsAgent } from '../../src/ag-ui';
import { approvePending, ask, lastAssistant as lastAssistantOf } from '../utils/ag-ui-agent';
import { aiSdkUrl, lastAssistant, modelSaw, textOf, useAiSdkChats } from '../utils/ai-sdk-chat';
import { isolatedRedisKeys, TEST_REDIS_URL } from '../utils/redis';
import { numbered, useServeProcesses } from '../utils/serve-processes';

const keys = isolatedRedisKeys();
const served = useServeProcesses();
const { reloadMidReply } = useAiSdkChats();

/** Starts `llm-ws serve` on the shared Redis, with `calculate` waiting for approval; resolves with its port. */
const serveProcess = () =>
  served.serveProcess([
    '--redis-url',
    TEST_REDIS_URL,
    '--redis-prefix',
    keys.prefix,
    '--require-approval',
    'calculate',
  ]);

describe('two llm-ws serve processes on one Redis, with the AI SDK and AG-UI clients', () => {
  it('AI SDK: a chat reloaded onto the other process mid-reply gets the whole reply once, and goes on there', async () => {
    const [first, second] = await Promise.all([serveProcess(), serveProcess()]);
    const balancer = await served.balancerTo(first.port);
    const chunks = numbered(150);
    served.upstream.enqueue({ type: 'text', chunks, delayMs: 20 });
    // The page goes away, and its reload lands on the other process.
    const after = await reloadMidReply({
      url: aiSdkUrl(balancer),
      id: 'moving-chat',
      text: 'count',
      shown: 'c5 ',
      beforeReload: () => served.moveClientTo(second.port),
    });
    expect(textOf(lastAssistant(after.chat))).toBe(chunks.join(''));
    expect(served.upstream.requests).toHaveLength(1);

    await after.chat.sendMessage({ text: 'more' });
    await after.until(() => (textOf(lastAssistant(after.chat)) === 'You said: more' ? true : undefined), 'next');
    expect((await modelSaw(served.upstream, 1)).slice(1)).toEqual([
      'user: count',
      `assistant: ${chunks.join('')}`,
      'user: more',
    ]);
    expect(served.proxy?.connections).toBe(2);
  }, 60_000);

  it('AG-UI HttpAgent: a run paused for approval on one process is resumed on the other, which runs the tool', async () => {
    const [first, second] = await Promise.all([serveProcess(), serveProcess()]);
    const balancer = await served.balancerTo(first.port);
    served.upstream.enqueue(
      { type: 'tool_calls', calls: [{ id: 'call_1', name: 'calculate', arguments: { expression: '6*7' } }] },
      { type: 'text', chunks: ['It is ', '42.'] },
    );
    const agent = new HttpAgent({ url: `http://127.0.0.1:${balancer}/ag-ui`, threadId: 'thread-moving' });
    ask(agent, 'what is 6*7?');
    await agent.runAgent();
    expect(agent.pendingInterrupts).toEqual([expect.objectContaining({ id: 'call_1', reason: 'tool_approval' })]);

    served.moveClientTo(second.port);
    const results = await approvePending(agent);
    expect(results).toEqual([expect.stringContaining('42')]);
    expect(lastAssistantOf(agent)).toBe('It is 42.');
    expect(served.proxy?.connections).toBeGreaterThanOrEqual(2);

    // And the thread goes on from the same conversation.
    ask(agent, 'thanks');
    await agent.runAgent();
    expect(lastAssistantOf(agent)).toBe('You said: thanks');
    const contents = (await served.upstream.request(2)).body.messages.map((m: { content: unknown }) => m.content);
    expect(contents).toEqual(expect.arrayContaining(['what is 6*7?', 'It is 42.', 'thanks']));
  }, 60_000);

  it('LlmWsAgent: a run whose connection moves to the other process mid-reply gets every delta once', async () => {
    const [first, second] = await Promise.all([serveProcess(), serveProcess()]);
    const client = await served.clientThrough(first.port);
    const agent = new LlmWsAgent({ client, threadId: 'thread-ws' });
    const chunks = numbered(100);
    served.upstream.enqueue({ type: 'text', chunks, delayMs: 10 });
    const deltas: string[] = [];
    ask(agent, 'count');
    const running = agent.runAgent({}, { onTextMessageContentEvent: ({ event }) => void deltas.push(event.delta) });
    await firstValueFrom(client.chunks$.pipe(filter(({ chunk }) => chunk === 'c20 ')));
    served.moveClientTo(second.port);
    await running;
    expect(deltas).toEqual(chunks);
    expect(lastAssistantOf(agent)).toBe(chunks.join(''));
    expect(served.upstream.requests).toHaveLength(1);

    ask(agent, 'again');
    await agent.runAgent();
    expect(lastAssistantOf(agent)).toBe('You said: again');
    expect(served.proxy?.connections).toBe(2);
  }, 60_000);
});
