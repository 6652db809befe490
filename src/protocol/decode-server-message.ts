/**
 * Decodes the server's frames without io-ts, from the wire shapes generated out of the codecs:
 * what the client runs on every frame, so a browser app carries neither io-ts nor the codecs.
 */
import * as E from 'fp-ts/Either';
import { ProtocolError } from './errors';
import type { ServerMessage } from './codecs';
import { describeValue, joinProblems, parseEnvelope, type RawFrame } from './frame';
import { serverMessageDataShapes } from './server-shapes.generated';
import { checkShape, serverEnvelope } from './wire-shape';

/**
 * Decodes one frame from the server. Never throws: a bad frame is a `Left` whose
 * {@link ProtocolError} names the code (`invalid_json`, `invalid_message`, `unknown_type`), the
 * field and what was wrong. Keys the protocol does not know are dropped, as the codecs drop them.
 */
export function decodeServerMessage(raw: RawFrame): E.Either<ProtocolError, ServerMessage> {
  const envelope = parseEnvelope(raw, serverMessageDataShapes);
  if (E.isLeft(envelope)) return envelope;
  const { value, type, requestId } = envelope.right;
  const problems: string[] = [];
  const decoded = checkShape(serverEnvelope(type, serverMessageDataShapes[type]), value, '', problems, describeValue);
  if (problems.length) return E.left(new ProtocolError('invalid_message', joinProblems(problems), requestId));
  return E.right(decoded as ServerMessage);
}
