/**
 * Starts the reply to one accepted `user_message`: its trace, its context (the session's model,
 * tools, limits and conversation) and the running reply that streams it to the session.
 */
import type { AttachmentStore } from './attachments';
import type { HistoryAttachment, UserMessage } from '../protocol/codecs';
import type { Conversation } from './conversation';
import { childLogger } from './logger';
import { type ReplySink, RunningReply } from './running-reply';
import type { SessionOptions } from './session-options';

/** The store's `get`, bound: a store may be a class. */
const readAttachment =
  (store: AttachmentStore) =>
  (ref: string): ReturnType<AttachmentStore['get']> =>
    store.get(ref);

/** What the reply takes from its session besides the session's options. */
export interface ReplyStart {
  readonly message: UserMessage;
  readonly attachments: readonly HistoryAttachment[];
  readonly conversation: Conversation;
  readonly whenWritable: () => Promise<void> | undefined;
  readonly sink: ReplySink;
}

/** The reply to `message`, not started yet: the session holds it as its running reply before it starts. */
export function replyTo(options: SessionOptions, message: UserMessage): RunningReply {
  return new RunningReply(message.id, message.data.options?.onDisconnect ?? options.onDisconnect);
}

/**
 * Starts `running`, the reply to `start.message`, streaming into `start.sink` (it may end
 * before this returns).
 */
export function startReply(options: SessionOptions, running: RunningReply, start: ReplyStart): void {
  const { message, attachments } = start;
  const { text, traceparent, tracestate } = message.data;
  const trace = options.telemetry?.startReply({
    sessionId: options.sessionId,
    requestId: message.id,
    principal: options.principal,
    text,
    ...(traceparent === undefined ? {} : { traceparent }),
    ...(tracestate === undefined ? {} : { tracestate }),
  });
  running.start(
    {
      requestId: message.id,
      sessionId: options.sessionId,
      principal: options.principal,
      text,
      options: message.data.options ?? {},
      conversation: start.conversation,
      provider: options.provider,
      tools: options.tools,
      maxToolSteps: options.maxToolSteps,
      idleTimeoutMs: options.idleTimeoutMs,
      limits: options.replyLimits,
      whenWritable: start.whenWritable,
      timings: options.timings,
      // A child per reply, not per session: an idle session carries no logger of its own.
      logger: childLogger(options.logger, { sessionId: options.sessionId }),
      clientTools: message.data.clientTools,
      checkClientTools: options.checkClientTools,
      humanInTheLoop: options.humanInTheLoop,
      ...(attachments.length > 0 ? { attachments } : {}),
      ...(options.attachments ? { attachmentData: readAttachment(options.attachments.store) } : {}),
      trace: trace?.context,
      ...(options.usageLimits ? { usageLimits: options.usageLimits } : {}),
      ...(message.data.editOf === undefined ? {} : { editOf: message.data.editOf }),
      ...(message.data.regenerate ? { regenerate: true } : {}),
    },
    start.sink,
    trace,
  );
}
