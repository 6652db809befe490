/**
 * What the processes sharing a Redis store tell each other, over one pub/sub channel. Every
 * process hears every message and acts on the sessions it holds.
 */
import * as E from 'fp-ts/Either';
import * as t from 'io-ts';
import {
  ClientToolResultMessage,
  ControlMessage,
  ServerMessage,
  type ServerMessageInput,
  ToolApprovalMessage,
  UserMessage,
} from '../../protocol/codecs';

/** A message between processes. */
export type BusMessage =
  /** Session `s` was resumed on process `by`: any other connection of it must close (4409). */
  | { readonly t: 'takeover'; readonly s: string; readonly by: string }
  /**
   * A client's frame for the writer of `s`, sent by a connection on process `from` that follows
   * it: the writer confirms it took frame `k` (`took`), and answers what is that connection's
   * alone (a `history`, a `status`, a refusal) to connection `c` of `from` (`answer`).
   */
  | {
      readonly t: 'control';
      readonly s: string;
      readonly m: UserMessage | ControlMessage | ToolApprovalMessage | ClientToolResultMessage;
      readonly from?: string;
      readonly c?: string;
      readonly k?: string;
    }
  /** The writer of `s` took frame `k` forwarded by process `to`: `to` need not hold it for a takeover any more. */
  | { readonly t: 'took'; readonly s: string; readonly to: string; readonly k: string }
  /** An answer for connection `c` of process `to` alone (no seq: not part of the stream). */
  | {
      readonly t: 'answer';
      readonly s: string;
      readonly to: string;
      readonly c: string;
      readonly m: ServerMessageInput;
    }
  /** A message for the stream of `s`, for its writer `to` (`sendToClient` on another process). */
  | { readonly t: 'send'; readonly s: string; readonly to: string; readonly m: ServerMessageInput }
  /** The writer of `s` let go of it: a process following it may take over. */
  | { readonly t: 'released'; readonly s: string }
  /** Conversation `s` was deleted: a process holding it closes its connection (4410) and lets it go. */
  | { readonly t: 'deleted'; readonly s: string }
  /** A message for every session held anywhere but `x`, from process `from`. */
  | { readonly t: 'broadcast'; readonly from: string; readonly m: ServerMessageInput; readonly x?: string };

const Envelope = t.union([
  t.type({ t: t.literal('takeover'), s: t.string, by: t.string }),
  t.intersection([
    t.type({
      t: t.literal('control'),
      s: t.string,
      m: t.union([UserMessage, ControlMessage, ToolApprovalMessage, ClientToolResultMessage]),
    }),
    t.partial({ from: t.string, c: t.string, k: t.string }),
  ]),
  t.type({ t: t.literal('took'), s: t.string, to: t.string, k: t.string }),
  t.type({ t: t.literal('answer'), s: t.string, to: t.string, c: t.string, m: t.UnknownRecord }),
  t.type({ t: t.literal('send'), s: t.string, to: t.string, m: t.UnknownRecord }),
  t.type({ t: t.literal('released'), s: t.string }),
  t.type({ t: t.literal('deleted'), s: t.string }),
  t.intersection([
    t.type({ t: t.literal('broadcast'), from: t.string, m: t.UnknownRecord }),
    t.partial({ x: t.string }),
  ]),
]);

/** A server message as the bus carries it: checked like any message the server sends. */
function serverMessageInput(value: Record<string, unknown>): ServerMessageInput | undefined {
  const decoded = ServerMessage.decode({ ...value, id: '' });
  if (E.isLeft(decoded)) return undefined;
  const { id: _id, seq: _seq, ...input } = decoded.right;
  return input;
}

/** Reads a bus message; anything else on the channel (another version, a stray publish) is undefined. */
export function decodeBusMessage(text: string): BusMessage | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  const decoded = Envelope.decode(json);
  if (E.isLeft(decoded)) return undefined;
  const message = decoded.right;
  if (message.t !== 'send' && message.t !== 'broadcast' && message.t !== 'answer') return message;
  const input = serverMessageInput(message.m);
  return input === undefined ? undefined : { ...message, m: input };
}

export const encodeBusMessage = (message: BusMessage): string => JSON.stringify(message);
