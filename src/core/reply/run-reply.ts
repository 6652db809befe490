/**
 * One reply as one Observable: user text -> model stream -> tool loop -> protocol messages.
 * Unsubscribing it anywhere cancels the model request and any running tool.
 */
import { catchError, concat, defer, from, Observable, of, Subscription, switchMap } from 'rxjs';
import { RequestError, UpstreamError } from '../../errors';
import type { RoundSnapshot } from '../../llm/accumulate-round';
import type { LLMFinishReason } from '../../llm/types';
import type { FinishReason, HistoryMessage, ServerMessageInput } from '../../protocol/codecs';
import { endWhen } from '../../operators/end-when';
import { errorMessageFor } from '../error-message';
import type { UsageLimits } from '../usage-limits';
import type { ClientToolsCheck, ReplyContext, ReplyRun } from './context';
import { DEFAULT_MAX_REPLY_TEXT_BYTES, DEFAULT_MAX_TOOL_ARGUMENTS_BYTES, LimitCheck } from './limits';
import { modelRound } from './model-round';
import { ReplyState } from './reply-state';
import { toolRound } from './tool-round';
import {
  DEFAULT_APPROVAL_TIMEOUT_MS,
  DEFAULT_CLIENT_TOOL_TIMEOUT_MS,
  DEFAULT_MAX_CLIENT_TOOL_RESULT_BYTES,
} from '../../tools/client-answers';

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
  // Each subscription is its own reply: its checks, its user message, its state and its model calls.
  const reply = defer(() => {
    const run = startReply(context);
    return rounds(run, 0).pipe(endWhen(context.abort$, () => abortEnding(run)));
  }).pipe(catchError((error: unknown) => of(errorMessageFor(error, context))));
  return context.usageLimits ? admitted(context, context.usageLimits, reply) : reply;
}

/**
 * `reply` once the principal's limits let it through: a refusal is its one frame (the
 * conversation untouched); an abort while the limits are asked ends it as an empty aborted reply.
 */
function admitted(
  context: ReplyContext,
  limits: UsageLimits,
  reply: Observable<ServerMessageInput>,
): Observable<ServerMessageInput> {
  return new Observable<ServerMessageInput>((subscriber) => {
    const held = new Subscription();
    let asked = false;
    held.add(
      context.abort$.subscribe(() => {
        if (asked) return;
        held.unsubscribe();
        for (const frame of new ReplyState(context.requestId).ending('aborted')) subscriber.next(frame);
        subscriber.complete();
      }),
    );
    if (held.closed) return;
    void limits.admit(context.principal).then((refusal) => {
      if (held.closed) return;
      asked = true;
      if (refusal) {
        subscriber.next(errorMessageFor(refusal, context));
        subscriber.complete();
      } else held.add(reply.subscribe(subscriber));
    });
    return held;
  });
}

/** The reasoning of a round, for its assistant message, when the server keeps it. */
const reasoningOf = (humanInTheLoop: ReplyRun['humanInTheLoop'], text: string): { reasoning?: string } =>
  humanInTheLoop.keepReasoning && text !== '' ? { reasoning: text } : {};

/** The reply's last frames after an abort; the aborted round enters history as its partial text. */
function abortEnding({ context, state, humanInTheLoop }: ReplyRun): readonly ServerMessageInput[] {
  if (state.roundText !== '') {
    [state.answer] = context.conversation.append({
      role: 'assistant',
      content: state.roundText,
      finishReason: 'aborted',
      ...reasoningOf(humanInTheLoop, state.roundReasoning),
    });
  }
  state.estimateAbortedRound();
  return state.ending('aborted');
}

/**
 * The user's message in history: appended (as a new branch beside `editOf` for an edit), or, for
 * a regenerate, the last one there, whose new answer becomes a branch beside the one before.
 * Throws `invalid_message` for an edit of no user message of the active path, or a regenerate
 * with none to answer.
 */
function appendUserMessage(context: ReplyContext): HistoryMessage {
  const { conversation } = context;
  if (context.regenerate) {
    const user = conversation.answerAgain();
    if (!user) throw new RequestError('invalid_message', 'regenerate: the conversation has no user message to answer');
    return user;
  }
  if (context.editOf !== undefined && !conversation.forkAt(context.editOf))
    throw new RequestError('invalid_message', `editOf: no user message ${context.editOf} on the active branch`);
  const [user] = conversation.append({
    role: 'user',
    content: context.text,
    ...(context.attachments?.length ? { attachments: [...context.attachments] } : {}),
  });
  return user as HistoryMessage;
}

/**
 * Checks the request and appends the user's message (throws a {@link RequestError} for a
 * request refused), then returns what the reply's rounds share.
 */
function startReply(context: ReplyContext): ReplyRun {
  const { tools, options } = context;
  const unknownTools = (options.tools ?? []).filter((name) => !tools.has(name));
  if (unknownTools.length > 0) {
    throw new RequestError(
      'unknown_tool',
      `no such tool: ${unknownTools.join(', ')}; this server has ${tools.names.join(', ') || 'none'}`,
    );
  }
  const clientTools = clientToolsOf(context);
  if (!clientTools.ok) throw new RequestError('invalid_client_tools', clientTools.error);
  const user = appendUserMessage(context);
  return {
    context,
    state: new ReplyState(context.requestId, user.id),
    limitCheck: new LimitCheck(
      context.limits ?? {
        maxTextBytes: DEFAULT_MAX_REPLY_TEXT_BYTES,
        maxToolArgumentsBytes: DEFAULT_MAX_TOOL_ARGUMENTS_BYTES,
      },
    ),
    definitions: [...tools.definitions(options.tools), ...clientTools.definitions],
    clientToolNames: new Set(clientTools.definitions.map((tool) => tool.name)),
    humanInTheLoop: context.humanInTheLoop ?? DEFAULT_HUMAN_IN_THE_LOOP,
    startedAt: performance.now(),
  };
}

/** The client tools the message declares, checked: none declared is none offered. */
function clientToolsOf(context: ReplyContext): ReturnType<ClientToolsCheck> {
  const declared = context.clientTools ?? [];
  if (declared.length === 0) return { ok: true, definitions: [] };
  if (!context.checkClientTools) return { ok: false, error: 'this server takes no client tools' };
  return context.checkClientTools(declared, context.tools.names);
}

/** The round loop from model call `step`: a model call, then either the ending or a tool round and the next call. */
function rounds(run: ReplyRun, step: number): Observable<ServerMessageInput> {
  return modelRound(run, step, (snapshot, lastRound) => afterRound(run, snapshot, step, lastRound));
}

/** What follows a whole model call: the reply's ending, or its tool calls and the next model call. */
function afterRound(
  run: ReplyRun,
  snapshot: RoundSnapshot,
  step: number,
  lastRound: boolean,
): Observable<ServerMessageInput> {
  const { context, state, humanInTheLoop } = run;
  state.roundEnded(snapshot.usage);
  if (snapshot.finishReason === undefined) {
    throw new UpstreamError('upstream_error', 'the model stream ended before the model finished', {
      retryable: true,
    });
  }
  if (snapshot.toolCalls.length === 0 || lastRound) {
    const finishReason = finishReasonOf(snapshot.finishReason);
    [state.answer] = context.conversation.append({
      role: 'assistant',
      content: snapshot.text,
      ...(finishReason === 'stop' ? {} : { finishReason }),
      ...reasoningOf(humanInTheLoop, snapshot.reasoning),
    });
    return from(state.ending(finishReason));
  }
  const limits = context.usageLimits;
  // A reply that crossed the budget mid-way stops before its next model call (the tool round it ran stays in history).
  const next = limits
    ? defer(() => from(limits.beforeCall(context.principal))).pipe(
        switchMap((refusal) => {
          if (refusal) throw refusal;
          return rounds(run, step + 1);
        }),
      )
    : rounds(run, step + 1);
  return concat(toolRound(run, snapshot, step), next);
}
