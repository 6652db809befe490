/**
 * The checks a `user_message` passes before a session answers it or queues it: its length, its
 * attachments (stored on the way), and a store that takes writes. A failed check refuses it.
 */
import { checkAttachments } from './attachments';
import type { HistoryAttachment, UserMessage } from '../protocol/codecs';
import type { SessionPersistence } from './ports';
import { type Controlled, refuse } from './session-control';
import type { SessionOptions } from './session-options';

/**
 * The message's attachments checked and stored, as history keeps them; false once the message
 * was refused (too long, an attachment refused, or the store away).
 */
export function acceptMessage(
  session: Controlled,
  options: SessionOptions,
  message: UserMessage,
): HistoryAttachment[] | false {
  const { text } = message.data;
  if (text.length > options.maxMessageLength) {
    refuse(
      session,
      message.id,
      'message_too_long',
      `the text has ${text.length} characters; this server accepts at most ${options.maxMessageLength}`,
      false,
    );
    return false;
  }
  const attachments = takeAttachments(session, options, message);
  if (attachments === false || !storeAvailable(session, options.persistence, message.id)) return false;
  return attachments;
}

/** Whether the store takes writes; if not, request `requestId` is refused `store_unavailable`. */
export function storeAvailable(
  session: Controlled,
  persistence: SessionPersistence | undefined,
  requestId: string,
): boolean {
  if (!persistence || persistence.available()) return true;
  refuse(session, requestId, 'store_unavailable', 'the session store cannot be reached: try again shortly', true);
  return false;
}

/** The message's attachments checked and stored; false once the message was refused for one of them. */
function takeAttachments(
  session: Controlled,
  options: SessionOptions,
  message: UserMessage,
): HistoryAttachment[] | false {
  const list = message.data.attachments ?? [];
  if (list.length === 0) return [];
  const config = options.attachments;
  if (!config) {
    refuse(session, message.id, 'unsupported_attachment', 'this server takes no attachments', false);
    return false;
  }
  const checked = checkAttachments(list, config.limits);
  if (!checked.ok) {
    refuse(session, message.id, checked.problem.code, checked.problem.message, false);
    return false;
  }
  return checked.attachments.map(({ history, data }) =>
    data === undefined ? history : { ...history, ref: config.store.put(history.mediaType, data) },
  );
}
