import * as E from 'fp-ts/Either';
import { concat, defer, EMPTY, forkJoin, from, map, merge, mergeMap, type Observable, of } from 'rxjs';
import type { RoundSnapshot, ToolCallSnapshot } from '../../llm/accumulate-round';
import type { HistoryMessage, ServerMessageInput, ToolCallStatus } from '../../protocol/codecs';
import { awaitApproval, awaitClientResult } from '../../tools/client-answers';
import { parseToolArguments } from '../../tools/tool-arguments';
import type { ToolOutcome } from '../../tools/types';
import type { ReplyRun } from './context';

function toolMessageContent(outcome: ToolOutcome): string {
  if (!outcome.ok) return `Error: ${outcome.error}`;
  return typeof outcome.result === 'string' ? outcome.result : JSON.stringify(outcome.result);
}

/** How a call runs: here, here once the user approved, or on the client. */
type CallKind = 'server' | 'approval' | 'client';

/**
 * The tool calls a model round asked for: `status` calling_tool, then each call's first
 * `tool_call` (`start`, or `approval_required` for a tool that needs the user's yes, or
 * `client_execute` for a client tool), then each one's `tool_call` complete, error or denied and
 * `tool_result` as it finishes (they run at once). Once all finished, the calls and their
 * results enter the history together, so a trim never separates them; the next model round is
 * the caller's. Unsubscribing (an abort) ends every run and every wait.
 */
export function toolRound(run: ReplyRun, round: RoundSnapshot, step: number): Observable<ServerMessageInput> {
  // Each subscription runs the calls anew, with outcomes of its own.
  return defer(() => runCalls(run, round, step));
}

function runCalls(run: ReplyRun, round: RoundSnapshot, step: number): Observable<ServerMessageInput> {
  const { context, state, humanInTheLoop } = run;
  const { requestId } = state;
  const calls = round.toolCalls.map((call: ToolCallSnapshot) => {
    // Parsed once for the client's tool_call messages (the raw text when it is not JSON).
    const parsed = parseToolArguments(call.arguments);
    return {
      ...call,
      id: state.uniqueToolCallId(call.id, `call_${requestId}_${step}_${call.index}`),
      args: E.isRight(parsed) ? parsed.right : call.arguments,
    };
  });
  type Call = (typeof calls)[number];
  const outcomes: ToolOutcome[] = [];
  const toolContext = { sessionId: context.sessionId, requestId, principal: context.principal, trace: context.trace };
  const toolCallMessage = (
    call: Call,
    status: ToolCallStatus,
    extra: { timeoutMs?: number; reason?: string } = {},
  ): ServerMessageInput => ({
    type: 'tool_call',
    data: { toolCallId: call.id, toolName: call.name, args: call.args, status, requestId, ...extra },
  });
  const finished = (
    call: Call,
    i: number,
    outcome: ToolOutcome,
    status?: ToolCallStatus,
    reason?: string,
  ): ServerMessageInput[] => {
    outcomes[i] = outcome;
    const base = { toolCallId: call.id, toolName: call.name, requestId };
    return [
      toolCallMessage(call, status ?? (outcome.ok ? 'complete' : 'error'), reason === undefined ? {} : { reason }),
      {
        type: 'tool_result',
        data: outcome.ok ? { ...base, result: outcome.result } : { ...base, error: outcome.error },
      },
    ];
  };
  const execute = (call: Call, i: number): Observable<ServerMessageInput> =>
    context.tools.execute(call, toolContext).pipe(mergeMap((outcome) => finished(call, i, outcome)));

  // Which calls wait for the client: a client tool, or (asked of the tool) one that needs approval.
  const { answers } = context;
  const kinds$: Observable<CallKind[]> =
    calls.length === 0
      ? of([])
      : forkJoin(
          calls.map((call): Observable<CallKind> => {
            if (run.clientToolNames.has(call.name)) return of('client');
            return context.tools
              .needsApproval(call, toolContext)
              .pipe(map((needed): CallKind => (needed ? 'approval' : 'server')));
          }),
        );

  const runCall = (call: Call, i: number, kind: CallKind): Observable<ServerMessageInput> => {
    if (kind === 'server') return execute(call, i);
    if (kind === 'client') {
      if (!answers)
        return from(
          finished(call, i, { ok: false, error: `${call.name} runs on the client, and this reply cannot reach it` }),
        );
      const limits = {
        timeoutMs: humanInTheLoop.clientToolTimeoutMs,
        maxResultBytes: humanInTheLoop.maxClientToolResultBytes,
      };
      return awaitClientResult(answers.result(call.id), call, limits).pipe(
        mergeMap((outcome) => finished(call, i, outcome)),
      );
    }
    // Nobody can say yes: a tool that needs approval does not run.
    if (!answers)
      return from(
        finished(
          call,
          i,
          { ok: false, error: `${call.name} needs the user's approval, and this reply cannot ask` },
          'denied',
          'no one to ask',
        ),
      );
    return awaitApproval(answers.approval(call.id), call.id, humanInTheLoop.approvalTimeoutMs).pipe(
      mergeMap((answer): Observable<ServerMessageInput> => {
        if (answer.approved) return concat(of(toolCallMessage(call, 'start')), execute(call, i));
        // The model is told, and goes on: it may answer without the tool, or ask something else.
        const why = answer.reason ? `: ${answer.reason}` : '';
        // A timeout is no one's decision: the model is told what happened, not that the user said no.
        const error = answer.timedOut
          ? `${answer.reason}; the tool was not run`
          : `the user declined to run ${call.name}${why}`;
        return from(finished(call, i, { ok: false, error }, 'denied', answer.reason ?? 'declined'));
      }),
    );
  };

  const firstMessage = (call: Call, kind: CallKind): ServerMessageInput => {
    if (kind === 'server') return toolCallMessage(call, 'start');
    if (kind === 'client')
      return toolCallMessage(call, 'client_execute', { timeoutMs: humanInTheLoop.clientToolTimeoutMs });
    return toolCallMessage(call, 'approval_required', { timeoutMs: humanInTheLoop.approvalTimeoutMs });
  };

  return concat(
    of(state.status('calling_tool')),
    kinds$.pipe(
      mergeMap((kinds) =>
        concat(
          from(calls.map((call, i) => firstMessage(call, kinds[i] as CallKind))),
          merge(...calls.map((call, i) => runCall(call, i, kinds[i] as CallKind))),
        ),
      ),
    ),
    defer(() => {
      const toolMessages = calls.map((call, i): HistoryMessage => ({
        role: 'tool',
        content: toolMessageContent(outcomes[i] as ToolOutcome),
        toolCallId: call.id,
        toolName: call.name,
      }));
      const reasoning = humanInTheLoop.keepReasoning && round.reasoning !== '' ? { reasoning: round.reasoning } : {};
      context.conversation.append(
        {
          role: 'assistant',
          content: round.text,
          toolCalls: calls.map(({ id, name, arguments: args }) => ({ id, name, arguments: args })),
          ...reasoning,
        },
        ...toolMessages,
      );
      return EMPTY;
    }),
  );
}
