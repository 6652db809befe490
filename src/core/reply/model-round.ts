import { Observable } from 'rxjs';
import { UpstreamError } from '../../errors';
import { accumulateRound, emptyRound, type RoundSnapshot } from '../../llm/accumulate-round';
import { estimateUsage } from '../../llm/estimate-usage';
import type { LLMRequest } from '../../llm/types';
import { idleTimeout } from '../../operators/idle-timeout';
import type { ServerMessageInput } from '../../protocol/codecs';
import { type ReplyRun, secondsSince } from './context';

/**
 * One model call of a reply: `status` thinking, then (after a `status` streaming) an `llm_chunk`
 * per piece of text, then whatever `then` makes of the whole round once the model finished.
 */
export function modelRound(
  run: ReplyRun,
  step: number,
  then: (round: RoundSnapshot, lastRound: boolean) => Observable<ServerMessageInput>,
): Observable<ServerMessageInput> {
  const { context, state, limitCheck } = run;
  const { options } = context;
  const lastRound = step >= context.maxToolSteps;
  const { limits } = limitCheck;
  const request: LLMRequest = {
    messages: context.conversation.forModel(),
    tools: run.definitions,
    whenWritable: context.whenWritable,
    ...(context.attachmentData ? { attachmentData: context.attachmentData } : {}),
    limits: { maxTextBytes: limits.maxTextBytes, maxToolArgumentsBytes: limits.maxToolArgumentsBytes },
    call: {
      conversationId: context.sessionId,
      requestId: context.requestId,
      principal: context.principal,
      trace: context.trace,
    },
    options: {
      temperature: options.temperature,
      maxTokens: options.maxTokens,
      toolChoice: run.definitions.length === 0 ? undefined : lastRound ? 'none' : 'auto',
    },
  };
  state.newRound();
  let streaming = false;
  let round = emptyRound;
  limitCheck.newRound();
  const callStartedAt = performance.now();
  // One Observable, one subscriber for all the per-event work: this is the hot path of every reply,
  // and each operator between the model and the session is a hop every chunk pays for. It does what
  // `concat(of(thinking), frames$, defer(() => then(round)))` would.
  return new Observable<ServerMessageInput>((subscriber) => {
    subscriber.next(state.status('thinking'));
    let timed = false;
    const timeCall = (): void => {
      if (timed) return;
      timed = true;
      context.timings?.modelCall(secondsSince(callStartedAt));
    };
    const call = context
      .provider(request)
      .pipe(
        idleTimeout(
          context.idleTimeoutMs,
          () =>
            new UpstreamError('upstream_timeout', `the model sent nothing for ${context.idleTimeoutMs} ms`, {
              retryable: true,
            }),
        ),
      )
      .subscribe({
        next: (event) => {
          // A throw here would escape to RxJS's unhandled-error path and end the process: it ends the reply instead.
          try {
            if (event.type === 'tool_call_delta' && event.argumentsDelta)
              limitCheck.toolArguments(event.index, event.argumentsDelta);
            else if (event.type === 'text' || event.type === 'reasoning') limitCheck.text(event.delta);
            // Text and reasoning accumulate once, in the reply state: a new snapshot per chunk cost a µs each.
            if (event.type !== 'text' && event.type !== 'reasoning') round = accumulateRound(round, event);
            if (event.type === 'tool_call_delta') state.toolCallDelta();
            // Reasoning streams as its own frames, apart from the reply's text (and its fullText).
            if (event.type === 'reasoning') {
              if (event.delta !== '') subscriber.next(state.reasoning(event.delta));
              return;
            }
            if (event.type !== 'text' || event.delta === '') return;
            if (state.text(event.delta)) context.timings?.firstToken(secondsSince(run.startedAt));
            if (!streaming) {
              streaming = true;
              subscriber.next(state.status('streaming'));
            }
            subscriber.next(state.chunk(event.delta, false));
          } catch (error) {
            // Unsubscribes the provider too: the model request is cancelled.
            subscriber.error(error);
          }
        },
        error: (error: unknown) => {
          timeCall();
          subscriber.error(error);
        },
        complete: () => {
          timeCall();
          try {
            // What follows the call goes straight to this subscriber: no hop for its frames either.
            // Subscribed with the subscriber itself, its teardown is the subscriber's: unsubscribing
            // the round stops it too.
            const whole = { ...round, text: state.roundText, reasoning: state.roundReasoning };
            // A model that reported no usage is estimated, so every reply (and budget) counts its calls.
            then(whole.usage ? whole : { ...whole, usage: estimateUsage(request, whole) }, lastRound).subscribe(
              subscriber,
            );
          } catch (error) {
            subscriber.error(error);
          }
        },
      });
    return () => {
      timeCall();
      call.unsubscribe();
    };
  });
}
