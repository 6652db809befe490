import { defer, finalize, type Observable } from 'rxjs';
import { UpstreamError } from '../../errors';
import { accumulateRound, emptyRound, type RoundSnapshot } from '../../llm/accumulate-round';
import { estimateUsage } from '../../llm/estimate-usage';
import type { LLMEvent, LLMRequest } from '../../llm/types';
import { idleTimeout } from '../../operators/idle-timeout';
import { emitBetween } from '../../operators/emit-between';
import type { ServerMessageInput } from '../../protocol/codecs';
import { type ReplyRun, secondsSince } from './context';

/** The request of model call `step` of a reply (the last one may not ask for tools). */
function requestOf(run: ReplyRun, lastRound: boolean): LLMRequest {
  const { context, limitCheck } = run;
  const { options } = context;
  const { limits } = limitCheck;
  return {
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
}

/**
 * One model call of a reply: `status` thinking, then (after a `status` streaming) an `llm_chunk`
 * per piece of text, then whatever `then` makes of the whole round once the model finished.
 * Each subscription is its own call: the request, the round's state and its timing are made when
 * it is subscribed. A throw while handling an event (a limit passed) errors the round and
 * unsubscribes the model, which cancels its request.
 */
export function modelRound(
  run: ReplyRun,
  step: number,
  then: (round: RoundSnapshot, lastRound: boolean) => Observable<ServerMessageInput>,
): Observable<ServerMessageInput> {
  return defer(() => {
    const { context, state, limitCheck } = run;
    const lastRound = step >= context.maxToolSteps;
    const request = requestOf(run, lastRound);
    state.newRound();
    limitCheck.newRound();
    let streaming = false;
    let round = emptyRound;
    const callStartedAt = performance.now();
    // What the call spent goes to the principal's budget once: as reported (or estimated) when it
    // finished, else (failed, or cut off by an abort) estimated from what it streamed, if anything.
    const usageLimits = context.usageLimits;
    let counted = false;
    const countSpent = (tokens: number): void => {
      if (counted || !usageLimits) return;
      counted = true;
      usageLimits.spent(context.principal, tokens);
    };

    /** Emits the frames one model event makes (this is every chunk's path). */
    const framesOf = (event: LLMEvent, emit: (frame: ServerMessageInput) => void): void => {
      if (event.type === 'text') {
        limitCheck.text(event.delta);
        if (event.delta === '') return;
        // Text and reasoning accumulate once, in the reply state: a new snapshot per chunk cost a µs each.
        if (state.text(event.delta)) context.timings?.firstToken(secondsSince(run.startedAt));
        if (!streaming) {
          streaming = true;
          emit(state.status('streaming'));
        }
        emit(state.chunk(event.delta, false));
        return;
      }
      if (event.type === 'reasoning') {
        limitCheck.text(event.delta);
        // Reasoning streams as its own frames, apart from the reply's text (and its fullText).
        if (event.delta !== '') emit(state.reasoning(event.delta));
        return;
      }
      if (event.type === 'tool_call_delta') {
        if (event.argumentsDelta) limitCheck.toolArguments(event.index, event.argumentsDelta);
        state.toolCallDelta();
      }
      round = accumulateRound(round, event);
    };

    /** The round as `then` gets it; a model that reported no usage is estimated, so every reply (and budget) counts its calls. */
    const whole = (): RoundSnapshot => {
      const snapshot = { ...round, text: state.roundText, reasoning: state.roundReasoning };
      const usage = snapshot.usage ?? estimateUsage(request, snapshot);
      countSpent(usage.totalTokens);
      return snapshot.usage ? snapshot : { ...snapshot, usage };
    };

    let timed = false;
    const timeCall = (): void => {
      if (timed) return;
      timed = true;
      context.timings?.modelCall(secondsSince(callStartedAt));
    };

    // Deferred: the model is called once `thinking` went out, and a throw from it errors the round.
    return defer(() => context.provider(request)).pipe(
      // The call is over when the model failed or the round was unsubscribed (or, below, it finished).
      finalize(() => {
        timeCall();
        if (usageLimits && !counted && (state.roundDeltas > 0 || round !== emptyRound)) {
          const cut = { ...round, text: state.roundText, reasoning: state.roundReasoning };
          countSpent(estimateUsage(request, cut).totalTokens);
        }
      }),
      idleTimeout(
        context.idleTimeoutMs,
        () =>
          new UpstreamError('upstream_timeout', `the model sent nothing for ${context.idleTimeoutMs} ms`, {
            retryable: true,
          }),
      ),
      // A throw while handling an event (a limit passed) errors the round, and unsubscribes the model.
      emitBetween(state.status('thinking'), framesOf, () => {
        timeCall();
        return then(whole(), lastRound);
      }),
    );
  });
}
