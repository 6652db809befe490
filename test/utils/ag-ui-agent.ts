/**
 * What the AG-UI interop tests share, for `@ag-ui/client`'s HttpAgent and llm-ws's LlmWsAgent
 * alike: adding the user's message, reading the reply, and answering the pending approvals.
 */
import type { AbstractAgent } from '@ag-ui/client';

/** Adds a user message (ids `u-0`, `u-1`, ... by position) for the next run. */
export function ask(agent: AbstractAgent, text: string): void {
  agent.addMessage({ id: `u-${agent.messages.length}`, role: 'user', content: text });
}

/** The content of the agent's last assistant message. */
export const lastAssistant = (agent: AbstractAgent): unknown =>
  agent.messages.filter((message) => message.role === 'assistant').at(-1)?.content;

/**
 * Runs the agent again with a `resume` entry approving each pending interrupt; resolves with the
 * contents of the TOOL_CALL_RESULT events of that run.
 */
export async function approvePending(agent: AbstractAgent): Promise<string[]> {
  const results: string[] = [];
  await agent.runAgent(
    {
      resume: agent.pendingInterrupts.map((interrupt) => ({
        interruptId: interrupt.id,
        status: 'resolved' as const,
        payload: { approved: true },
      })),
    },
    { onToolCallResultEvent: ({ event }) => void results.push(String(event.content)) },
  );
  return results;
}

/**
 * The approval round trip on the model's `MAIL_ANN` turns (test/utils/send-mail-tool.ts): the
 * first run (`firstRun`, a plain `runAgent()` unless given) ends with one `tool_approval`
 * interrupt and nothing run; approving it runs the tool once, tells its result and the reply.
 */
export async function expectMailApproved(
  agent: AbstractAgent,
  runs: readonly unknown[],
  firstRun: () => Promise<unknown> = () => agent.runAgent(),
): Promise<void> {
  await firstRun();
  expect(agent.pendingInterrupts).toEqual([
    expect.objectContaining({ id: 'call_1', reason: 'tool_approval', toolCallId: 'call_1' }),
  ]);
  expect(runs).toEqual([]);
  expect(await approvePending(agent)).toEqual(['{"sent":true}']);
  expect(runs).toEqual([{ to: 'ann' }]);
  expect(agent.pendingInterrupts).toEqual([]);
  expect(lastAssistant(agent)).toBe('Mail sent.');
}
