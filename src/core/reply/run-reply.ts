/**
 * One reply as one Observable: user text -> model stream -> tool loop -> protocol messages.
 * Unsubscribing it anywhere cancels the model request and any running tool.
 */
import { concat, defer, from, Observable, Subscription } from 'rxjs';
import { RequestError, UpstreamError } from '../../errors';
import type { RoundSnapshot } from '../../llm/accumulate-round';
import type { LLMFinishReason } from '../../llm/types';
import type { FinishReason, ServerMessageInput } from '../../protocol/codecs';
import { errorMessageFor } from '../error-message';
import type { ReplyContext, ReplyRun } from './context';
import { DEFAULT_MAX_REPLY_TEXT_BYTES, DEFAULT_MAX_TOOL_ARGUMENTS_BYTES, LimitCheck } from './limits';
import { modelRound } from './model-round';
import { ReplyState } from './reply-state';
import { toolRound } from './tool-round';
import {
  checkClientTools,
  DEFAULT_APPROVAL_TIMEOUT_MS,
  DEFAULT_CLIENT_TOOL_TIMEOUT_MS,
  DEFAULT_MAX_CLIENT_TOOL_RESULT_BYTES,
} from '../../tools/client-tools';

/** What a reply waits for and keeps unless its context says. */
const DEFAULT_HUMAN_IN_THE_LOOP = {
  approvalTimeoutMs: DEFAULT_APPROVAL_TIMEOUT_MS,
  clientToolTimeoutMs: DEFAULT_CLIENT_TOOL_TIMEOUT_MS,
  maxClientToolResultBytes: DEFAULT_MAX_CLIENT_TOOL_RESULT_BYTES,
  keepReasoning: false,
};

function finishReasonOf(reason: LLMFinishReason): FinishReason {
  // A model that still asks for tools on the last allowed round ran out of steps: a limit, like `length`.
  return reason === 'tool_calls' ? 'length' : reason;
}

/**
 * Runs one reply. Emits, in order: `status` thinking, `llm_chunk`s (after a `status`
 * streaming), `tool_call`/`tool_result` rounds (after a `status` calling_tool), then a final
 * empty `llm_chunk` with `isComplete` and the `llm_complete`; or an `error` message when the
 * request is refused or the model fails. It never errors itself. The conversation gets the
 * user's message first, and each model round once it is whole (an aborted round as its partial
 * text marked `finishReason: 'aborted'`).
 */
export function runReply(context: ReplyContext): Observable<ServerMessageInput> {
  // One Observable doing what `concat(rounds.pipe(takeUntil(abort$)), abortEnding).pipe(catchError(...))`
  // would, so each chunk passes one hop here instead of three (this is every chunk's path).
  return new Observable<ServerMessageInput>((subscriber) => {
    const fail = (error: unknown): void => {
      subscriber.next(errorMessageFor(error, context));
      subscriber.complete();
    };
    let rounds: Observable<ServerMessageInput>;
    let state: ReplyState;
    try {
      ({ rounds, state } = startReply(context));
    } catch (error) {
      fail(error);
      return;
    }
    // A container: an abort while the rounds are being subscribed (a synchronous model) still stops them.
    const running = new Subscription();
    // Also a container: `abort$` may emit as it is subscribed (it has already fired).
    const abort = new Subscription();
    abort.add(
      context.abort$.subscribe(() => {
        if (state.aborted) return;
        abort.unsubscribe();
        running.unsubscribe();
        state.aborted = true;
        try {
          for (const frame of abortEnding(context, state)) subscriber.next(frame);
          subscriber.complete();
        } catch (error) {
          fail(error);
        }
      }),
    );
    if (state.aborted) return;
    running.add(
      rounds.subscribe({
        next: (frame) => subscriber.next(frame),
        error: (error: unknown) => {
          abort.unsubscribe();
          fail(error);
        },
        complete: () => {
          abort.unsubscribe();
          subscriber.complete();
        },
      }),
    );
    return () => {
      abort.unsubscribe();
      running.unsubscribe();
    };
  });
}

/** The reasoning of a round, for its assistant message, when the server keeps it. */
const reasoningOf = (humanInTheLoop: ReplyRun['humanInTheLoop'], text: string): { reasoning?: string } =>
  humanInTheLoop.keepReasoning && text !== '' ? { reasoning: text } : {};

/** The reply's last frames after an abort; the aborted round enters history as its partial text. */
function abortEnding(context: ReplyContext, state: ReplyState): ServerMessageInput[] {
  if (state.roundText !== '') {
    context.conversation.append({
      role: 'assistant',
      content: state.roundText,
      finishReason: 'aborted',
      ...reasoningOf(context.humanInTheLoop ?? DEFAULT_HUMAN_IN_THE_LOOP, state.roundReasoning),
    });
  }
  state.estimateAbortedRound();
  return state.ending('aborted');
}

/**
 * Checks the request and appends the user's message (throws a {@link RequestError} for a
 * request refused), then returns the round loop: a model call, then either the ending or a
 * tool round and the next call.
 */
function startReply(context: ReplyContext): { rounds: Observable<ServerMessageInput>; state: ReplyState } {
  const { conversation, tools, options } = context;
  const unknownTools = (options.tools ?? []).filter((name) => !tools.has(name));
  if (unknownTools.length > 0) {
    throw new RequestError(
      'unknown_tool',
      `no such tool: ${unknownTools.join(', ')}; this server has ${tools.names.join(', ') || 'none'}`,
    );
  }
  const clientTools = checkClientTools(context.clientTools ?? [], tools.names);
  if (!clientTools.ok) throw new RequestError('invalid_client_tools', clientTools.error);
  conversation.append({
    role: 'user',
    content: context.text,
    ...(context.attachments?.length ? { attachments: [...context.attachments] } : {}),
  });
  const humanInTheLoop = context.humanInTheLoop ?? DEFAULT_HUMAN_IN_THE_LOOP;
  const run: ReplyRun = {
    context,
    state: new ReplyState(context.requestId),
    limitCheck: new LimitCheck(
      context.limits ?? {
        maxTextBytes: DEFAULT_MAX_REPLY_TEXT_BYTES,
        maxToolArgumentsBytes: DEFAULT_MAX_TOOL_ARGUMENTS_BYTES,
      },
    ),
    definitions: [...tools.definitions(options.tools), ...clientTools.definitions],
    clientToolNames: new Set(clientTools.definitions.map((tool) => tool.name)),
    humanInTheLoop,
    startedAt: performance.now(),
  };
  const { state } = run;

  const round = (step: number): Observable<ServerMessageInput> =>
    modelRound(run, step, (snapshot, lastRound) => afterRound(snapshot, step, lastRound));
  const afterRound = (snapshot: RoundSnapshot, step: number, lastRound: boolean): Observable<ServerMessageInput> => {
    state.roundEnded(snapshot.usage);
    if (snapshot.finishReason === undefined) {
      throw new UpstreamError('upstream_error', 'the model stream ended before the model finished', {
        retryable: true,
      });
    }
    if (snapshot.toolCalls.length === 0 || lastRound) {
      const finishReason = finishReasonOf(snapshot.finishReason);
      conversation.append({
        role: 'assistant',
        content: snapshot.text,
        ...(finishReason === 'stop' ? {} : { finishReason }),
        ...reasoningOf(humanInTheLoop, snapshot.reasoning),
      });
      return from(state.ending(finishReason));
    }
    return concat(
      toolRound(run, snapshot, step),
      defer(() => round(step + 1)),
    );
  };
  return { rounds: round(0), state };
}
