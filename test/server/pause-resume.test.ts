import type { Observable } from 'rxjs';
import type { LLMEvent } from '../../src/llm/types';
import { createToolRegistry, defineTool } from '../../src/tools';
import { control, e, harness, newScheduler, userMessage } from '../utils/session-harness';

/** A model round that asks for the `wait` tool, then one that answers. */
const toolEvents = {
  ...e,
  t: { type: 'tool_call_delta', index: 0, id: 'call_1', name: 'wait', argumentsDelta: '{}' },
  f: { type: 'finish', reason: 'tool_calls' },
} satisfies Record<string, LLMEvent>;

/** A registry with one tool, `wait`, whose run is `run` (a cold observable the test watches). */
const waitTool = (run: Observable<unknown>) =>
  createToolRegistry([
    defineTool({ name: 'wait', description: 'waits', parameters: { type: 'object' }, execute: () => run }),
  ]);

describe('pause and resume', () => {
  it('answers resume with the status the reply is in (not paused), and the reply goes on live', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold, expectSubscriptions }) => {
      const model = cold<LLMEvent>('-a---b---c-(s|)', e);
      const { connect } = harness(scheduler, [model]);
      const { transport, at } = connect();
      at(0, userMessage('q1'));
      at(2, control('c1', 'pause'));
      at(6, control('c2', 'resume'));
      at(10, control('c3', 'get_status'));
      scheduler.flush();
      // The model is read all along: pausing holds frames, not the upstream request.
      expectSubscriptions(model.subscriptions).toBe('^----------!');
      expect(transport.log().slice(4)).toEqual([
        '2 status paused c1 #4',
        '6 llm_chunk two  q1 #5',
        '6 status streaming c2 #6',
        '9 llm_chunk three q1 #7',
        // get_status is answered to its connection alone: no seq.
        '10 status streaming c3',
        '11 llm_chunk  q1 #8',
        '11 llm_complete stop q1 #9',
        '11 status idle q1 #10',
      ]);
    });
  });

  it('holds a tool round while paused: the tool runs, its frames wait, and resume releases them in order', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold, expectSubscriptions }) => {
      const run = cold('----(r|)', { r: { ok: 1 } });
      const first = cold<LLMEvent>('-(tf|)', toolEvents);
      const second = cold<LLMEvent>('-a-(s|)', e);
      const { connect } = harness(scheduler, [first, second], { tools: waitTool(run) });
      const { transport, at } = connect();
      at(0, userMessage('q1'));
      at(2, control('c1', 'pause'));
      at(4, control('c2', 'get_status'));
      at(10, control('c3', 'resume'));
      scheduler.flush();
      expectSubscriptions(run.subscriptions).toBe('-^---!');
      expectSubscriptions(second.subscriptions).toBe('-----^--!');
      expect(transport.log().slice(1)).toEqual([
        '0 status thinking q1 #1',
        '1 status calling_tool q1 #2',
        '1 tool_call start q1 #3',
        '2 status paused c1 #4',
        // Not held with the reply's frames: the answer to a question of one connection, no seq.
        '4 status paused c2',
        '10 tool_call complete q1 #5',
        '10 tool_result  q1 #6',
        '10 status thinking q1 #7',
        '10 status streaming q1 #8',
        '10 llm_chunk one  q1 #9',
        '10 llm_chunk  q1 #10',
        '10 llm_complete stop q1 #11',
        '10 status idle q1 #12',
        '10 status idle c3 #13',
      ]);
    });
  });

  it('treats a second pause and a second resume as no-ops, each answered with the status', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold }) => {
      const { connect } = harness(scheduler, [cold<LLMEvent>('-a---b---c-(s|)', e)]);
      const { transport, at } = connect();
      at(0, userMessage('q1'));
      at(2, control('c1', 'pause'));
      at(3, control('c2', 'pause'));
      at(6, control('c3', 'resume'));
      at(7, control('c4', 'resume'));
      scheduler.flush();
      expect(transport.log().slice(4, 9)).toEqual([
        '2 status paused c1 #4',
        '3 status paused c2 #5',
        '6 llm_chunk two  q1 #6',
        '6 status streaming c3 #7',
        '7 status streaming c4 #8',
      ]);
      expect(transport.log()).toContain('11 llm_complete stop q1 #11');
    });
  });

  it('pauses and resumes again: each pause holds what arrives until its resume', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold }) => {
      const { connect } = harness(scheduler, [cold<LLMEvent>('-a-b-c-(s|)', e)]);
      const { transport, at } = connect();
      at(0, userMessage('q1'));
      at(2, control('c1', 'pause'));
      at(4, control('c2', 'resume'));
      at(4, control('c3', 'pause'));
      at(9, control('c4', 'resume'));
      scheduler.flush();
      expect(transport.log().slice(4)).toEqual([
        '2 status paused c1 #4',
        '4 llm_chunk two  q1 #5',
        '4 status streaming c2 #6',
        '4 status paused c3 #7',
        '9 llm_chunk three q1 #8',
        '9 llm_chunk  q1 #9',
        '9 llm_complete stop q1 #10',
        '9 status idle q1 #11',
        '9 status idle c4 #12',
      ]);
    });
  });

  it('aborts a reply paused during a tool: the tool is cancelled, held frames go first, then the aborted ending', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold, expectSubscriptions }) => {
      const run = cold('------(r|)', { r: { ok: 1 } });
      const { connect } = harness(scheduler, [cold<LLMEvent>('-(tf|)', toolEvents)], { tools: waitTool(run) });
      const { transport, at } = connect();
      at(0, userMessage('q1'));
      at(2, control('c1', 'pause'));
      at(4, control('c2', 'abort'));
      at(5, control('c3', 'get_status'));
      scheduler.flush();
      expectSubscriptions(run.subscriptions).toBe('-^--!');
      expect(transport.log().slice(4)).toEqual([
        '2 status paused c1 #4',
        '4 llm_chunk  q1 #5',
        '4 llm_complete aborted q1 #6',
        '4 status idle q1 #7',
        '4 status idle c2 #8',
        '5 status idle c3',
      ]);
    });
  });

  it('answers a pause or resume with no reply running with status idle, and the next reply is not paused', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold }) => {
      const { connect } = harness(scheduler, [cold<LLMEvent>('-a-(s|)', e)]);
      const { transport, at } = connect();
      at(0, control('c1', 'pause'));
      at(1, control('c2', 'resume'));
      at(2, userMessage('q1'));
      scheduler.flush();
      expect(transport.log().slice(1)).toEqual([
        '0 status idle c1 #1',
        '1 status idle c2 #2',
        '2 status thinking q1 #3',
        '3 status streaming q1 #4',
        '3 llm_chunk one  q1 #5',
        '5 llm_chunk  q1 #6',
        '5 llm_complete stop q1 #7',
        '5 status idle q1 #8',
      ]);
    });
  });

  it('pauses only the reply a pause names, and ignores one aimed at another reply', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold }) => {
      const { connect } = harness(scheduler, [cold<LLMEvent>('-a-b-(s|)', e)]);
      const { transport, at } = connect();
      at(0, userMessage('q2'));
      at(2, control('c1', 'pause', 'q1'));
      at(3, control('c2', 'pause', 'q2'));
      at(8, control('c3', 'resume', 'q2'));
      scheduler.flush();
      expect(transport.log().slice(4)).toEqual([
        '2 status streaming c1 #4',
        '3 status paused c2 #5',
        '8 llm_chunk two  q2 #6',
        '8 llm_chunk  q2 #7',
        '8 llm_complete stop q2 #8',
        '8 status idle q2 #9',
        '8 status idle c3 #10',
      ]);
    });
  });

  it('keeps the model stream whole when it ends while paused: resume releases the rest and the ending', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold, expectSubscriptions }) => {
      const model = cold<LLMEvent>('-a-b-(s|)', e);
      const { connect, registry } = harness(scheduler, [model]);
      const { transport, at, connection } = connect();
      at(0, userMessage('q1'));
      at(2, control('c1', 'pause'));
      at(20, control('c2', 'resume'));
      scheduler.flush();
      expectSubscriptions(model.subscriptions).toBe('^----!');
      expect(transport.log().slice(4)).toEqual([
        '2 status paused c1 #4',
        '20 llm_chunk two  q1 #5',
        '20 llm_chunk  q1 #6',
        '20 llm_complete stop q1 #7',
        '20 status idle q1 #8',
        '20 status idle c2 #9',
      ]);
      expect(registry.get(connection.session.id)?.busy).toBe(false);
    });
  });
});
