/**
 * What the processes sharing a Redis store tell each other, over one pub/sub channel. Every
 * process hears every message and acts on the sessions it holds.
 */
import * as E from 'fp-ts/Either';
import * as t from 'io-ts';
import type { CoordinationMessage } from '../../core/ports';
import {
  ClientToolResultMessage,
  ControlMessage,
  ServerMessage,
  type ServerMessageInput,
  ToolApprovalMessage,
  UserMessage,
} from '../../protocol/codecs';

/** A message between processes (the core's `CoordinationMessage`; the bus carries it as JSON). */
export type BusMessage = CoordinationMessage;

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
  t.type({ t: t.literal('writing'), s: t.string, by: t.string }),
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
