/**
 * One reply as one Observable: user text -> model stream -> tool loop -> protocol messages.
 * Unsubscribing it anywhere cancels the model request and any running tool.
 */
import { catchError, concat, defer, EMPTY, from, type Observable, of, takeUntil, tap, throwError } from 'rxjs';
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
  const { conversation, tools, options } = context;
  return defer(() => {
    const unknownTools = (options.tools ?? []).filter((name) => !tools.has(name));
    if (unknownTools.length > 0) {
      return throwError(
        () =>
          new RequestError(
            'unknown_tool',
            `no such tool: ${unknownTools.join(', ')}; this server has ${tools.names.join(', ') || 'none'}`,
          ),
      );
    }
    const clientTools = checkClientTools(context.clientTools ?? [], tools.names);
    if (!clientTools.ok) return throwError(() => new RequestError('invalid_client_tools', clientTools.error));
    conversation.append({ role: 'user', content: context.text });
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
    /** The reasoning of a round, for its assistant message, when the server keeps it. */
    const reasoning = (text: string): { reasoning?: string } =>
      humanInTheLoop.keepReasoning && text !== '' ? { reasoning: text } : {};

    // The round loop: a model call, then either the ending or a tool round and the next call.
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
          ...reasoning(snapshot.reasoning),
        });
        return from(state.ending(finishReason));
      }
      return concat(
        toolRound(run, snapshot, step),
        defer(() => round(step + 1)),
      );
    };

    return concat(
      round(0).pipe(takeUntil(context.abort$.pipe(tap(() => (state.aborted = true))))),
      defer(() => {
        if (!state.aborted) return EMPTY;
        if (state.roundText !== '') {
          conversation.append({
            role: 'assistant',
            content: state.roundText,
            finishReason: 'aborted',
            ...reasoning(state.roundReasoning),
          });
        }
        state.estimateAbortedRound();
        return from(state.ending('aborted'));
      }),
    );
  }).pipe(catchError((error: unknown) => of(errorMessageFor(error, context))));
}
