import type { ServerMessageInput } from '../protocol/codecs';
import type { Session } from '../core/ports';

/** Puts `message` into the stream of each session but `excludeSessionId`; returns how many. */
export function pushToEach(
  sessions: Iterable<Session>,
  message: ServerMessageInput,
  excludeSessionId?: string,
): number {
  let sent = 0;
  for (const session of sessions) {
    if (session.id === excludeSessionId) continue;
    session.send(message);
    sent++;
  }
  return sent;
}
