/**
 * One reply as one Observable: user text -> model stream -> tool loop -> protocol messages.
 * Unsubscribing it anywhere cancels the model request and any running tool.
 */
import * as E from 'fp-ts/Either';
import {
  catchError,
  concat,
  defer,
  EMPTY,
  finalize,
  from,
  merge,
  mergeMap,
  Observable,
  of,
  takeUntil,
  tap,
  throwError,
} from 'rxjs';
import { LLMWSError, RequestError, UpstreamError } from '../errors';
import type { LLMFinishReason, LLMProvider, LLMRequest } from '../llm/types';
import { accumulateRound, emptyRound, type RoundSnapshot, type ToolCallSnapshot } from '../llm/accumulate-round';
import { idleTimeout } from '../operators/idle-timeout';
import type {
  FinishReason,
  HistoryMessage,
  ServerMessageInput,
  Usage,
  UserMessageOptions,
} from '../protocol/codecs';
import { parseToolArguments, type ToolRegistry } from '../tools/registry';
import type { ToolOutcome } from '../tools/types';
import type { Conversation } from './conversation';
import type { Logger } from './ports';

/** Rounds of tool calls one reply may make unless configured. */
export const DEFAULT_MAX_TOOL_STEPS = 5;
/** Longest silence between two upstream events before the reply fails, in ms. */
export const DEFAULT_UPSTREAM_IDLE_TIMEOUT_MS = 60_000;
/** Most text one reply may have, over all its model calls, in UTF-8 bytes (4 MiB). */
export const DEFAULT_MAX_REPLY_TEXT_BYTES = 4 * 1024 * 1024;
/** Most arguments one tool call may have, in UTF-8 bytes (1 MiB). */
export const DEFAULT_MAX_TOOL_ARGUMENTS_BYTES = 1024 * 1024;

/** How large a reply may grow: past either, it ends with `reply_too_large`. */
export interface ReplyLimits {
  /** The reply's text over all its model calls, in UTF-8 bytes. */
  readonly maxTextBytes: number;
  /** One tool call's arguments, in UTF-8 bytes. */
  readonly maxToolArgumentsBytes: number;
}

/** Where a reply reports its timings, in seconds. */
export interface ReplyTimings {
  modelCall(seconds: number): void;
  firstToken(seconds: number): void;
}

const secondsSince = (start: number): number => (performance.now() - start) / 1000;

/** Everything one reply needs. */
export interface ReplyContext {
  /** The `user_message` id: every message of the reply carries it as `requestId`. */
  readonly requestId: string;
  readonly sessionId: string;
  /** Who the session belongs to; tools see it. */
  readonly principal?: unknown;
  readonly text: string;
  readonly options: UserMessageOptions;
  readonly conversation: Conversation;
  readonly provider: LLMProvider;
  readonly tools: ToolRegistry;
  readonly maxToolSteps: number;
  readonly idleTimeoutMs: number;
  /** How large the reply may grow. @default DEFAULT_MAX_REPLY_TEXT_BYTES and DEFAULT_MAX_TOOL_ARGUMENTS_BYTES */
  readonly limits?: ReplyLimits;
  /** Emits to abort: the reply then ends with `llm_complete` and finishReason `aborted`. */
  readonly abort$: Observable<unknown>;
  /** Backpressure from the connection, handed to the provider (see {@link LLMRequest.whenWritable}). */
  readonly whenWritable?: () => Promise<void> | undefined;
  /** Told how long model calls take and when the first text arrives (for metrics). */
  readonly timings?: ReplyTimings;
  readonly logger: Logger;
}

function addUsage(total: Usage | undefined, more: Usage | undefined): Usage | undefined {
  if (!more) return total;
  if (!total) return more;
  return {
    promptTokens: total.promptTokens + more.promptTokens,
    completionTokens: total.completionTokens + more.completionTokens,
    totalTokens: total.totalTokens + more.totalTokens,
  };
}

function finishReasonOf(reason: LLMFinishReason): FinishReason {
  // A model that still asks for tools on the last allowed round ran out of steps: a limit, like `length`.
  return reason === 'tool_calls' ? 'length' : reason;
}

const tooLarge = (what: string, limit: number): UpstreamError =>
  new UpstreamError('reply_too_large', `the model's reply passed this server's limit: ${what} over ${limit} bytes; the reply was stopped`, {
    retryable: false,
  });

/**
 * Counts what a model call streams against the reply's limits, and throws `reply_too_large` for
 * the event that would pass one, before anything accumulates it.
 */
function createLimitCheck(limits: ReplyLimits): { text(delta: string): void; toolArguments(index: number, delta: string): void; newRound(): void } {
  let textBytes = 0;
  let argumentBytes = new Map<number, number>();
  return {
    text: (delta) => {
      textBytes += Buffer.byteLength(delta);
      if (textBytes > limits.maxTextBytes) throw tooLarge('the text', limits.maxTextBytes);
    },
    toolArguments: (index, delta) => {
      const bytes = (argumentBytes.get(index) ?? 0) + Buffer.byteLength(delta);
      argumentBytes.set(index, bytes);
      if (bytes > limits.maxToolArgumentsBytes) throw tooLarge(`the arguments of tool call ${index}`, limits.maxToolArgumentsBytes);
    },
    newRound: () => {
      argumentBytes = new Map();
    },
  };
}

function toolMessageContent(outcome: ToolOutcome): string {
  if (!outcome.ok) return `Error: ${outcome.error}`;
  return typeof outcome.result === 'string' ? outcome.result : JSON.stringify(outcome.result);
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
  const { requestId, conversation, tools, provider, options } = context;
  return defer(() => {
    const unknownTools = (options.tools ?? []).filter((name) => !tools.has(name));
    if (unknownTools.length > 0) {
      return throwError(
        () => new RequestError('unknown_tool', `no such tool: ${unknownTools.join(', ')}; this server has ${tools.names.join(', ') || 'none'}`),
      );
    }
    conversation.append({ role: 'user', content: context.text });
    const definitions = tools.definitions(options.tools);
    const limits = context.limits ?? { maxTextBytes: DEFAULT_MAX_REPLY_TEXT_BYTES, maxToolArgumentsBytes: DEFAULT_MAX_TOOL_ARGUMENTS_BYTES };
    const limitCheck = createLimitCheck(limits);
    const startedAt = performance.now();
    let fullText = '';
    let roundText = '';
    /** Events of the current model call: on an abort, its usage is estimated from them. */
    let roundDeltas = 0;
    let usage: Usage | undefined;

    const chunk = (text: string, isComplete: boolean): ServerMessageInput => ({
      type: 'llm_chunk',
      data: { chunk: text, isComplete, requestId },
    });
    const ending = (finishReason: FinishReason): ServerMessageInput[] => [
      chunk('', true),
      { type: 'llm_complete', data: { fullText, requestId, finishReason, ...(usage ? { usage } : {}) } },
    ];

    const modelRound = (step: number): Observable<ServerMessageInput> => {
      const lastRound = step >= context.maxToolSteps;
      const request: LLMRequest = {
        messages: conversation.forModel(),
        tools: definitions,
        whenWritable: context.whenWritable,
        limits: { maxTextBytes: limits.maxTextBytes, maxToolArgumentsBytes: limits.maxToolArgumentsBytes },
        options: {
          temperature: options.temperature,
          maxTokens: options.maxTokens,
          toolChoice: definitions.length === 0 ? undefined : lastRound ? 'none' : 'auto',
        },
      };
      roundText = '';
      roundDeltas = 0;
      let streaming = false;
      let round = emptyRound;
      limitCheck.newRound();
      const callStartedAt = performance.now();
      // One subscriber does all the per-event work: this is the hot path of every reply.
      const frames$ = new Observable<ServerMessageInput>((subscriber) =>
        provider(request)
          .pipe(
            idleTimeout(context.idleTimeoutMs, () =>
              new UpstreamError('upstream_timeout', `the model sent nothing for ${context.idleTimeoutMs} ms`, { retryable: true }),
            ),
            finalize(() => context.timings?.modelCall(secondsSince(callStartedAt))),
          )
          .subscribe({
            next: (event) => {
              // A throw here would escape to RxJS's unhandled-error path and end the process: it ends the reply instead.
              try {
                if (event.type === 'tool_call_delta' && event.argumentsDelta) limitCheck.toolArguments(event.index, event.argumentsDelta);
                else if (event.type === 'text') limitCheck.text(event.delta);
                round = accumulateRound(round, event);
                if (event.type === 'tool_call_delta') roundDeltas++;
                if (event.type !== 'text' || event.delta === '') return;
                roundDeltas++;
                if (fullText === '') context.timings?.firstToken(secondsSince(startedAt));
                fullText += event.delta;
                roundText += event.delta;
                if (!streaming) {
                  streaming = true;
                  subscriber.next({ type: 'status', data: { status: 'streaming', requestId } });
                }
                subscriber.next(chunk(event.delta, false));
              } catch (error) {
                // Unsubscribes the provider too: the model request is cancelled.
                subscriber.error(error);
              }
            },
            error: (error: unknown) => subscriber.error(error),
            complete: () => subscriber.complete(),
          }),
      );
      return concat(
        of<ServerMessageInput>({ type: 'status', data: { status: 'thinking', requestId } }),
        frames$,
        defer(() => afterRound(round, step, lastRound)),
      );
    };

    const afterRound = (round: RoundSnapshot, step: number, lastRound: boolean): Observable<ServerMessageInput> => {
      usage = addUsage(usage, round.usage);
      roundDeltas = 0; // this call is over: an abort from here on estimates nothing for it
      if (round.finishReason === undefined) {
        throw new UpstreamError('upstream_error', 'the model stream ended before the model finished', { retryable: true });
      }
      if (round.toolCalls.length === 0 || lastRound) {
        const finishReason = finishReasonOf(round.finishReason);
        conversation.append({ role: 'assistant', content: round.text, ...(finishReason === 'stop' ? {} : { finishReason }) });
        return from(ending(finishReason));
      }
      return toolRound(round, step);
    };

    const toolRound = (round: RoundSnapshot, step: number): Observable<ServerMessageInput> => {
      const calls = round.toolCalls.map((call: ToolCallSnapshot) => {
        // Parsed once for the client's tool_call messages (the raw text when it is not JSON).
        const parsed = parseToolArguments(call.arguments);
        return { ...call, id: call.id || `call_${requestId}_${step}_${call.index}`, args: E.isRight(parsed) ? parsed.right : call.arguments };
      });
      const outcomes: ToolOutcome[] = [];
      const toolCallMessage = (call: (typeof calls)[number], status: 'start' | 'complete' | 'error'): ServerMessageInput => ({
        type: 'tool_call',
        data: { toolCallId: call.id, toolName: call.name, args: call.args, status, requestId },
      });
      const runs = calls.map((call, i) =>
        context.tools.execute(call, { sessionId: context.sessionId, requestId, principal: context.principal }).pipe(
          mergeMap((outcome): ServerMessageInput[] => {
            outcomes[i] = outcome;
            const base = { toolCallId: call.id, toolName: call.name, requestId };
            return [
              toolCallMessage(call, outcome.ok ? 'complete' : 'error'),
              { type: 'tool_result', data: outcome.ok ? { ...base, result: outcome.result } : { ...base, error: outcome.error } },
            ];
          }),
        ),
      );
      return concat(
        of<ServerMessageInput>({ type: 'status', data: { status: 'calling_tool', requestId } }),
        from(calls.map((call) => toolCallMessage(call, 'start'))),
        merge(...runs),
        defer(() => {
          // The call and its results enter history together, so a trim never separates them.
          const toolMessages = calls.map(
            (call, i): HistoryMessage => ({
              role: 'tool',
              content: toolMessageContent(outcomes[i] as ToolOutcome),
              toolCallId: call.id,
              toolName: call.name,
            }),
          );
          conversation.append(
            { role: 'assistant', content: round.text, toolCalls: calls.map(({ id, name, arguments: args }) => ({ id, name, arguments: args })) },
            ...toolMessages,
          );
          return modelRound(step + 1);
        }),
      );
    };

    let aborted = false;
    return concat(
      modelRound(0).pipe(
        takeUntil(context.abort$.pipe(tap(() => (aborted = true)))),
      ),
      defer(() => {
        if (!aborted) return EMPTY;
        if (roundText !== '') conversation.append({ role: 'assistant', content: roundText, finishReason: 'aborted' });
        if (roundDeltas > 0) {
          // The model never reported the cut-off call's usage: count its streamed pieces (about a token each).
          const partial = addUsage(usage, { promptTokens: 0, completionTokens: roundDeltas, totalTokens: roundDeltas });
          usage = partial && { ...partial, estimated: true };
        }
        return from(ending('aborted'));
      }),
    );
  }).pipe(catchError((error: unknown) => of(errorMessageFor(error, context))));
}

/** The `error` message that tells the client why its request failed. */
export function errorMessageFor(error: unknown, context: { requestId?: string; logger: Logger }): ServerMessageInput {
  const requestId = context.requestId === undefined ? {} : { requestId: context.requestId };
  if (error instanceof UpstreamError && error.code === 'reply_too_large') {
    // A limit doing its job: worth a line for the operator, not a stack trace.
    context.logger.warn({ ...requestId, code: error.code, reason: error.message }, 'model reply stopped at a limit');
  } else if (error instanceof UpstreamError) {
    // The one log line of a failed model call: the client is told, the operator should be too.
    context.logger.warn({ err: error, ...requestId, code: error.code, status: error.status }, 'model request failed');
  }
  if (error instanceof UpstreamError || error instanceof RequestError) {
    const retryAfter = error instanceof UpstreamError && error.retryAfterMs !== undefined ? { retryAfterMs: error.retryAfterMs } : {};
    return { type: 'error', data: { code: error.code, message: error.message, retryable: error.retryable, ...retryAfter, ...requestId } };
  }
  context.logger.error({ err: error, ...requestId }, 'request failed inside the server');
  const detail = error instanceof LLMWSError ? ` (${error.code})` : '';
  return {
    type: 'error',
    data: { code: 'internal_error', message: `the server failed to answer${detail}`, retryable: true, ...requestId },
  };
}
