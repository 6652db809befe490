import type { ServerMessageOf } from '../protocol/codecs';

/** Error codes that only refuse one frame (rate_limited may end a reply too, so it is not one). */
const FRAME_REFUSALS: ReadonlySet<string> = new Set([
  'invalid_json',
  'invalid_message',
  'unknown_type',
  'unsupported_frame',
  'busy',
  'queue_full',
  'unknown_tool_call',
  'message_too_long',
]);

/**
 * Whether an `error` is the refusal of a frame another connection of a shared session sent (a
 * server older than the one that answers the sender alone put it in the stream): that tab's
 * business, not this one's. `ours` says whether a request id is this client's.
 */
export function othersRefusal(message: ServerMessageOf<'error'>, ours: (requestId: string) => boolean): boolean {
  const { requestId, code } = message.data;
  // Without a seq it was meant for this connection; with one, only codes that refuse a frame are someone else's.
  const refusal = message.seq === undefined || FRAME_REFUSALS.has(code);
  return refusal && requestId !== undefined && !ours(requestId);
}
