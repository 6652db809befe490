import * as E from 'fp-ts/Either';
import { concat, defer, EMPTY, from, merge, mergeMap, type Observable, of } from 'rxjs';
import type { RoundSnapshot, ToolCallSnapshot } from '../../llm/accumulate-round';
import type { HistoryMessage, ServerMessageInput } from '../../protocol/codecs';
import { parseToolArguments } from '../../tools/registry';
import type { ToolOutcome } from '../../tools/types';
import type { ReplyRun } from './context';

function toolMessageContent(outcome: ToolOutcome): string {
  if (!outcome.ok) return `Error: ${outcome.error}`;
  return typeof outcome.result === 'string' ? outcome.result : JSON.stringify(outcome.result);
}

/**
 * The tool calls a model round asked for: `status` calling_tool, a `tool_call` start for each,
 * then each one's `tool_call` complete or error and `tool_result` as it finishes (they run at
 * once). Once all finished, the calls and their results enter the history together, so a trim
 * never separates them; the next model round is the caller's.
 */
export function toolRound(run: ReplyRun, round: RoundSnapshot, step: number): Observable<ServerMessageInput> {
  const { context, state } = run;
  const { requestId } = state;
  const calls = round.toolCalls.map((call: ToolCallSnapshot) => {
    // Parsed once for the client's tool_call messages (the raw text when it is not JSON).
    const parsed = parseToolArguments(call.arguments);
    return {
      ...call,
      id: call.id || `call_${requestId}_${step}_${call.index}`,
      args: E.isRight(parsed) ? parsed.right : call.arguments,
    };
  });
  const outcomes: ToolOutcome[] = [];
  const toolCallMessage = (
    call: (typeof calls)[number],
    status: 'start' | 'complete' | 'error',
  ): ServerMessageInput => ({
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
          {
            type: 'tool_result',
            data: outcome.ok ? { ...base, result: outcome.result } : { ...base, error: outcome.error },
          },
        ];
      }),
    ),
  );
  return concat(
    of(state.status('calling_tool')),
    from(calls.map((call) => toolCallMessage(call, 'start'))),
    merge(...runs),
    defer(() => {
      const toolMessages = calls.map((call, i): HistoryMessage => ({
        role: 'tool',
        content: toolMessageContent(outcomes[i] as ToolOutcome),
        toolCallId: call.id,
        toolName: call.name,
      }));
      context.conversation.append(
        {
          role: 'assistant',
          content: round.text,
          toolCalls: calls.map(({ id, name, arguments: args }) => ({ id, name, arguments: args })),
        },
        ...toolMessages,
      );
      return EMPTY;
    }),
  );
}
