import { TestScheduler } from 'rxjs/testing';
import { ServerError } from '../../src/errors';
import { replyOf } from '../../src/operators/reply-of';
import type { ServerMessage } from '../../src/protocol/codecs';

const R = 'r1';
const m: Record<string, ServerMessage> = {
  t: { type: 'status', id: '1', data: { status: 'thinking', requestId: R } },
  c: { type: 'llm_chunk', id: '2', data: { chunk: 'Hi', isComplete: false, requestId: R } },
  k: {
    type: 'tool_call',
    id: '3',
    data: { toolCallId: 'x', toolName: 'calculate', args: {}, status: 'start', requestId: R },
  },
  r: { type: 'tool_result', id: '4', data: { toolCallId: 'x', toolName: 'calculate', requestId: R, result: 1 } },
  d: { type: 'llm_complete', id: '5', data: { fullText: 'Hi', requestId: R, finishReason: 'stop' } },
  e: { type: 'error', id: '6', data: { code: 'upstream_error', message: 'boom', retryable: true, requestId: R } },
};
const newScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

describe('replyOf', () => {
  it('passes reply events, leaves status out, and completes with the llm_complete, unsubscribing its source', () => {
    newScheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
      const source = hot<ServerMessage>('-t-k-r-c-d-c', m);
      expectObservable(source.pipe(replyOf())).toBe('---k-r-c-(d|)', m);
      expectSubscriptions(source.subscriptions).toBe('^--------!');
    });
  });

  it('errors with a ServerError carrying the code when the server answers with an error', () => {
    newScheduler().run(({ hot, expectObservable }) => {
      const source = hot<ServerMessage>('-c-e-d', m);
      expectObservable(source.pipe(replyOf())).toBe(
        '-c-#',
        m,
        new ServerError('upstream_error', 'boom', { retryable: true, requestId: R }),
      );
    });
  });
});
