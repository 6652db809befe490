/**
 * Decodes the server's frames without io-ts, from the wire shapes generated out of the codecs:
 * what the client runs on every frame, so a browser app carries neither io-ts nor the codecs
 * (nor fp-ts: its Either is built by hand, see frame.ts).
 */
import type { Either } from 'fp-ts/Either';
import { ProtocolError } from './errors';
import type { ServerMessage, ServerMessageType } from './codecs';
import { describeValue, joinProblems, left, parseEnvelope, type RawFrame, right } from './frame';
import { serverMessageDataShapes } from './server-shapes.generated';
import { checkShape, serverEnvelope, type WireShape } from './wire-shape';

/** The shape of each server message's `data` a decoder checks, by its `type`. */
export type ServerShapes = Readonly<Record<ServerMessageType, WireShape>>;

/**
 * Decodes one frame from the server, as {@link decodeServerMessage} does, into the message or
 * the {@link ProtocolError} that says what was wrong with it (no Either: what the client runs).
 * `shapes` are the data shapes it checks (`serverMessageDataShapes`: every message's).
 */
export function decodeServerFrame(raw: RawFrame, shapes: ServerShapes): ServerMessage | ProtocolError {
  const envelope = parseEnvelope(raw, shapes);
  if (envelope._tag === 'Left') return envelope.left;
  const { value, type, requestId } = envelope.right;
  const problems: string[] = [];
  const decoded = checkShape(serverEnvelope(type, shapes[type]), value, '', problems, describeValue);
  return problems.length
    ? new ProtocolError('invalid_message', joinProblems(problems), requestId)
    : (decoded as ServerMessage);
}

/**
 * Decodes one frame from the server. Never throws: a bad frame is a `Left` whose
 * {@link ProtocolError} names the code (`invalid_json`, `invalid_message`, `unknown_type`), the
 * field and what was wrong. Keys the protocol does not know are dropped, as the codecs drop them.
 */
export function decodeServerMessage(raw: RawFrame): Either<ProtocolError, ServerMessage> {
  const decoded = decodeServerFrame(raw, serverMessageDataShapes);
  return decoded instanceof ProtocolError ? left(decoded) : right(decoded);
}
