import type { LLMEvent } from '../../src/llm/types';
import { control, e, harness, newScheduler, userMessage } from '../utils/session-harness';

/** What the model was sent for each reply, as `role: content` lines. */
function prompts(requests: { messages: readonly { role: string; content: unknown }[] }[]): string[][] {
  return requests.map((request) => request.messages.map(({ role, content }) => `${role}: ${String(content)}`));
}

describe('messages sent while a reply runs (concurrentMessages)', () => {
  it("'queue' (the default): answered in order once the replies before them ended, never busy; each model call sees the replies before it", () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold, expectSubscriptions }) => {
      const models = [cold<LLMEvent>('-a-(s|)', e), cold<LLMEvent>('-b-(s|)', e), cold<LLMEvent>('-c-(s|)', e)];
      const { connect, requests } = harness(scheduler, [...models]);
      const { transport, at } = connect();
      at(0, userMessage('q1', 'first'));
      at(1, userMessage('q2', 'second'));
      at(2, userMessage('q3', 'third'));
      scheduler.flush();
      expectSubscriptions(models[0]!.subscriptions).toBe('^--!');
      expectSubscriptions(models[1]!.subscriptions).toBe('---^--!');
      expectSubscriptions(models[2]!.subscriptions).toBe('------^--!');
      const log = transport.log();
      expect(log.filter((line) => line.includes('error'))).toEqual([]);
      expect(log.filter((line) => line.includes('llm_complete'))).toEqual([
        '3 llm_complete stop q1 #5',
        '6 llm_complete stop q2 #11',
        '9 llm_complete stop q3 #17',
      ]);
      expect(prompts(requests)[2]).toEqual([
        'user: first',
        'assistant: one ',
        'user: second',
        'assistant: two ',
        'user: third',
      ]);
    });
  });

  it("'queue': past maxQueuedMessages a message is refused queue_full (to its sender, outside the stream); a resend of a queued one is not queued twice", () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold }) => {
      const { connect, requests } = harness(scheduler, [cold<LLMEvent>('-a-(s|)', e), cold<LLMEvent>('-b-(s|)', e)], {
        maxQueuedMessages: 1,
      });
      const { transport, at } = connect();
      at(0, userMessage('q1'));
      at(1, userMessage('q2'));
      at(1, userMessage('q2'));
      at(2, userMessage('q3'));
      scheduler.flush();
      expect(transport.log().filter((line) => line.includes('error'))).toEqual(['2 error queue_full q3']);
      expect(requests).toHaveLength(2);
      const refusal = transport.frames.find(({ message }) => message.type === 'error')?.message;
      expect(refusal).toMatchObject({ data: { retryable: true } });
    });
  });

  it("'queue': an abort naming a waiting message takes it off the queue: it ends aborted and empty, its model is never called", () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold }) => {
      const { connect, requests } = harness(scheduler, [cold<LLMEvent>('-a-(s|)', e), cold<LLMEvent>('-b-(s|)', e)]);
      const { transport, at } = connect();
      at(0, userMessage('q1'));
      at(1, userMessage('q2'));
      at(1, userMessage('q3'));
      at(2, control('c1', 'abort', 'q2'));
      scheduler.flush();
      const log = transport.log();
      expect(log.filter((line) => line.includes('llm_complete'))).toEqual([
        '2 llm_complete aborted q2 #4',
        '3 llm_complete stop q1 #7',
        '6 llm_complete stop q3 #13',
      ]);
      expect(log).toContain('2 status streaming c1 #5');
      expect(requests).toHaveLength(2);
      const ending = transport.frames.find(
        ({ message }) => message.type === 'llm_complete' && message.data.requestId === 'q2',
      );
      expect(ending?.message.data).toEqual({
        fullText: '',
        finishReason: 'aborted',
        requestId: 'q2',
      });
    });
  });

  it("'queue': clear_history while messages wait is refused busy (the waiting ones would answer into a history gone)", () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold }) => {
      const { connect } = harness(scheduler, [cold<LLMEvent>('-a-(s|)', e), cold<LLMEvent>('-b-(s|)', e)]);
      const { transport, at } = connect();
      at(0, userMessage('q1'));
      at(1, userMessage('q2'));
      at(2, control('c1', 'clear_history'));
      scheduler.flush();
      expect(transport.log()).toContain('2 error busy c1');
    });
  });

  it("'interrupt': the running reply ends aborted (its model request cancelled) and the new message is answered at once; one still waiting gives way too", () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold, expectSubscriptions }) => {
      const models = [cold<LLMEvent>('-a-b-c-(s|)', e), cold<LLMEvent>('-b-(s|)', e)];
      const { connect, requests } = harness(scheduler, [...models], { concurrentMessages: 'interrupt' });
      const { transport, at } = connect();
      at(0, userMessage('q1', 'first'));
      at(2, userMessage('q2', 'second'));
      scheduler.flush();
      expectSubscriptions(models[0]!.subscriptions).toBe('^-!');
      expectSubscriptions(models[1]!.subscriptions).toBe('--^--!');
      expect(transport.log().filter((line) => line.includes('llm_complete'))).toEqual([
        '2 llm_complete aborted q1 #5',
        '5 llm_complete stop q2 #11',
      ]);
      // The model sees the interrupted answer as it was cut.
      expect(prompts(requests)[1]).toEqual(['user: first', 'assistant: one ', 'user: second']);
    });
  });

  it("'interrupt': each newer message interrupts the one before it, even one that only just started", () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold, expectSubscriptions }) => {
      const models = [cold<LLMEvent>('-a-(s|)', e), cold<LLMEvent>('-b-(s|)', e), cold<LLMEvent>('-c-(s|)', e)];
      const { connect } = harness(scheduler, [...models], { concurrentMessages: 'interrupt' });
      const { transport, at } = connect();
      at(0, userMessage('q1'));
      at(1, control('p1', 'pause'));
      at(2, userMessage('q2'));
      at(2, userMessage('q3'));
      scheduler.flush();
      expectSubscriptions(models[1]!.subscriptions).toBe('--(^!)');
      const completes = transport.log().filter((line) => line.includes('llm_complete'));
      expect(completes).toEqual([
        '2 llm_complete aborted q1 #6',
        '2 llm_complete aborted q2 #10',
        '5 llm_complete stop q3 #16',
      ]);
    });
  });
});
