import { type OperatorFunction, Observable } from 'rxjs';
import { ServerError } from '../errors';
import type { ReplyEvent, ServerMessage, ServerMessageOf } from '../protocol/codecs';

/** The `requestId` a server message carries, if any. */
export function requestIdOf(message: ServerMessage): string | undefined {
  return (message.data as { requestId?: unknown }).requestId as string | undefined;
}

/** The {@link ServerError} an `error` message stands for. */
export function serverErrorOf(message: ServerMessageOf<'error'>): ServerError {
  const { code, message: text, retryable, requestId, retryAfterMs } = message.data;
  return new ServerError(code, text, { retryable, requestId, retryAfterMs });
}

/**
 * Turns the server messages of one request into its reply: chunks, reasoning, tool calls and tool results
 * pass through, the `llm_complete` passes and completes, an `error` errors with a
 * {@link ServerError}. Status messages are left out. Expects messages of one request only.
 */
export function replyOf(): OperatorFunction<ServerMessage, ReplyEvent> {
  return (source) =>
    new Observable<ReplyEvent>((subscriber) =>
      source.subscribe({
        next: (message) => {
          switch (message.type) {
            case 'llm_chunk':
            case 'llm_reasoning':
            case 'tool_call':
            case 'tool_result':
              return subscriber.next(message);
            case 'llm_complete':
              subscriber.next(message);
              return subscriber.complete();
            case 'error':
              return subscriber.error(serverErrorOf(message));
          }
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => subscriber.complete(),
      }),
    );
}
