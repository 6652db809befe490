/**
 * A session's answers to what a client asks besides a reply: control messages (abort, pause,
 * resume, history, status), approvals and client tools' results for the running reply, and the
 * refusals of a request the session cannot take now.
 */
import type {
  ClientToolResultMessage,
  ControlMessage,
  ServerMessageInput,
  SessionStatus,
  ToolApprovalMessage,
  Usage,
} from '../protocol/codecs';
import type { Conversation } from './conversation';
import type { RunningReply } from './running-reply';

/** What the answers need of a session. */
export interface Controlled {
  readonly status: SessionStatus;
  readonly conversation: Conversation;
  readonly runningReply: RunningReply | undefined;
  /** What the session's replies used so far, summed over their `llm_complete`s (none before the first). */
  readonly usage: Usage | undefined;
  send(message: ServerMessageInput): void;
  /** Answers the connection whose frame is being handled alone: no seq, not replayed (a refusal of its frame). */
  answerSender(message: ServerMessageInput): void;
  abortReply(): void;
  /** Takes a message waiting behind the running reply off the queue (it ends aborted, never run); false if none waits by that id. */
  dropWaiting(requestId: string): boolean;
}

/**
 * Refuses request `requestId` with an `error` of `code`: an answer to the connection that sent
 * it alone, not a message of the stream (another tab sharing the session has nothing to do with it).
 */
export function refuse(
  session: Controlled,
  requestId: string,
  code:
    | 'busy'
    | 'invalid_message'
    | 'queue_full'
    | 'message_too_long'
    | 'store_unavailable'
    | 'unknown_tool_call'
    | 'attachment_too_large'
    | 'unsupported_attachment'
    | 'invalid_attachment',
  message: string,
  retryable: boolean,
): void {
  session.answerSender({ type: 'error', data: { code, message, retryable, requestId } });
}

/** Refuses `what` (a user_message, clear_history) while a reply runs. */
export function refuseBusy(session: Controlled, requestId: string, what: string): void {
  const running = session.runningReply?.requestId;
  refuse(
    session,
    requestId,
    'busy',
    `${what} while reply ${running} is running: wait for its llm_complete or abort it`,
    true,
  );
}

/** An approval or a client tool's result, for the call of the running reply that waits for it. */
export function answerTool(session: Controlled, message: ToolApprovalMessage | ClientToolResultMessage): void {
  if (session.runningReply?.answer(message)) return;
  // Answered already (another connection was first), timed out, its reply ended, or never asked.
  const what = message.type === 'tool_approval' ? 'an approval' : 'a result';
  refuse(session, message.id, 'unknown_tool_call', `no tool call ${message.data.toolCallId} waits for ${what}`, false);
}

/** Answers a control message. */
export function control(session: Controlled, message: ControlMessage): void {
  const { id } = message;
  switch (message.data.type) {
    case 'abort': {
      const named = message.data.requestId;
      if (targetOf(session, message)) session.abortReply();
      // A message still waiting its turn: it will not run.
      else if (named !== undefined) session.dropWaiting(named);
      return answerStatus(session, id);
    }
    // Pause and resume are idempotent; with no reply running (or another one named) they change
    // nothing and are answered with the status as it is: a pause is not kept for the next reply.
    case 'pause':
    case 'resume': {
      const target = targetOf(session, message);
      const pause = message.data.type === 'pause';
      // A resume releases the held frames synchronously, so its answer comes after them in the stream.
      target?.setPaused(pause);
      return answerStatus(session, id);
    }
    case 'clear_history':
      if (session.runningReply) return refuseBusy(session, id, 'clear_history arrived');
      session.conversation.clear();
      return answerHistory(session, id);
    case 'rewind':
      // What "regenerate" needs: the last user message and all that answered it go, so that
      // message can be sent again. The history as it is then is the answer.
      if (session.runningReply) return refuseBusy(session, id, 'rewind arrived');
      session.conversation.rewind();
      return answerHistory(session, id);
    case 'switch_branch': {
      if (session.runningReply) return refuseBusy(session, id, 'switch_branch arrived');
      const target = message.data.messageId;
      if (target === undefined || !session.conversation.switchTo(target)) {
        const what = target === undefined ? 'names no messageId' : `names ${target}, no message of this conversation`;
        return refuse(session, id, 'invalid_message', `switch_branch ${what}`, false);
      }
      return answerHistory(session, id);
    }
    // A question of one connection: its answer is that connection's alone, not the stream's (a
    // tab asking for a long history must not fill the others' buffers or the replay log).
    case 'get_history':
      return session.answerSender(historyOf(session, id));
    case 'get_status':
      return session.answerSender(statusOf(session, id));
  }
}

/** The running reply, if the control names none or names it: an abort, pause or resume racing a reply's end must not hit the next one. */
function targetOf(session: Controlled, message: ControlMessage): RunningReply | undefined {
  const target = message.data.requestId;
  const reply = session.runningReply;
  return target === undefined || target === reply?.requestId ? reply : undefined;
}

const statusOf = (session: Controlled, requestId: string): ServerMessageInput => ({
  type: 'status',
  data: { status: session.status, requestId, ...(session.usage ? { usage: session.usage } : {}) },
});

const historyOf = (session: Controlled, requestId: string): ServerMessageInput => ({
  type: 'history',
  data: {
    messages: session.conversation.messagesWithBranches(),
    requestId,
    ...(session.usage ? { usage: session.usage } : {}),
  },
});

/** The answer to a control that changed the session (abort, pause, resume): every connection's news. */
function answerStatus(session: Controlled, requestId: string): void {
  session.send(statusOf(session, requestId));
}

/** The answer to `clear_history`: every connection's news, as the history changed for all. */
function answerHistory(session: Controlled, requestId: string): void {
  session.send(historyOf(session, requestId));
}
