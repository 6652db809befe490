/**
 * Pure decoding of protocol frames: no sockets, no RxJS. Encoding is in `encode.ts`.
 */
import * as E from 'fp-ts/Either';
import * as t from 'io-ts';
import { ProtocolError } from './errors';
import {
  type ClientMessage,
  clientMessageCodecs,
  MAX_CONVERSATION_TITLE_LENGTH,
  type PushMessage,
  pushableMessageCodecs,
  serverMessageCodecs,
} from './codecs';
import {
  checkEnvelope,
  describeValue,
  type Envelope,
  isPlainObject,
  joinProblems,
  parseEnvelope,
  type RawFrame,
} from './frame';
import {
  MAX_APPROVAL_REASON_LENGTH,
  MAX_CLIENT_TOOL_DESCRIPTION_LENGTH,
  MAX_CLIENT_TOOL_PARAMETERS_BYTES,
  MAX_CLIENT_TOOL_RESULT_ERROR_LENGTH,
  MAX_CLIENT_TOOLS,
  MAX_MESSAGE_ID_LENGTH,
} from './limits';

/** Words for branded codecs, so an error says what was wanted rather than a type name. */
function describeType(name: string): string {
  if (name === 'MessageId') return `a non-empty string of at most ${MAX_MESSAGE_ID_LENGTH} characters`;
  if (name === 'Temperature') return 'a number from 0 to 2';
  if (name === 'SeqNumber') return 'a whole number of 0 or more, at most 2^53 - 1';
  if (name === 'ConversationId') return 'a conversation id: a non-empty string of at most 128 characters';
  if (name === 'PageSize') return 'a page size: a whole number from 1 to 100';
  if (name === 'ConversationTitle')
    return `a title of 1 to ${MAX_CONVERSATION_TITLE_LENGTH} characters, not all spaces, without control characters`;
  if (name === 'ToolName') return 'a tool name of 1 to 64 letters, digits, _ or -';
  if (name === 'ClientTools') return `at most ${MAX_CLIENT_TOOLS} client tools`;
  if (name === 'ToolParameters') return `a JSON Schema object of at most ${MAX_CLIENT_TOOL_PARAMETERS_BYTES} bytes`;
  if (name === 'ToolDescription') return `a string of at most ${MAX_CLIENT_TOOL_DESCRIPTION_LENGTH} characters`;
  if (name === 'ApprovalReason') return `a string of at most ${MAX_APPROVAL_REASON_LENGTH} characters`;
  if (name === 'ToolError') return `a string of at most ${MAX_CLIENT_TOOL_RESULT_ERROR_LENGTH} characters`;
  return name === 'PositiveInt' ? 'a whole number greater than 0' : name;
}

/**
 * The path of a failed value, as a user would write it (`data.options.temperature`): the keys
 * io-ts adds for the members of unions and intersections are not part of it.
 */
function pathOf(context: t.Context): string {
  const keys: string[] = [];
  for (let i = 1; i < context.length; i++) {
    const parent = context[i - 1]?.type;
    if (parent instanceof t.IntersectionType || parent instanceof t.UnionType) continue;
    const key = context[i]?.key;
    if (key) keys.push(/^\d+$/.test(key) ? `[${key}]` : keys.length ? `.${key}` : key);
  }
  return keys.join('') || '(message)';
}

/** Turns io-ts errors into one sentence: `data.text: expected string, got 42`. */
export function formatValidationErrors(errors: t.Errors): string {
  return joinProblems(
    errors.map((error) => {
      const last = error.context[error.context.length - 1];
      const expected = last ? describeType(last.type.name) : 'a value';
      return `${pathOf(error.context)}: expected ${expected}, got ${describeValue(error.value)}`;
    }),
  );
}

function decodeTagged<M>(
  raw: RawFrame,
  codecs: Record<string, t.Decoder<unknown, unknown>>,
): E.Either<ProtocolError, M> {
  return decodeFields<M>(parseEnvelope(raw, codecs), codecs);
}

/** Checks a message's fields with the codec of its type, once its envelope is known good. */
function decodeFields<M>(
  envelope: E.Either<ProtocolError, Envelope<string>>,
  codecs: Record<string, t.Decoder<unknown, unknown>>,
): E.Either<ProtocolError, M> {
  if (E.isLeft(envelope)) return envelope;
  const { value, type, requestId } = envelope.right;
  const decoded = (codecs[type] as t.Decoder<unknown, unknown>).decode(value);
  if (E.isLeft(decoded)) {
    // Too many client tools is about client tools: said in a line, without the array.
    const tooMany = decoded.left.find((error) => error.context[error.context.length - 1]?.type.name === 'ClientTools');
    if (tooMany && Array.isArray(tooMany.value)) {
      return E.left(
        new ProtocolError(
          'invalid_client_tools',
          `data.clientTools: at most ${MAX_CLIENT_TOOLS} client tools, got ${tooMany.value.length}`,
          requestId,
        ),
      );
    }
    return E.left(new ProtocolError('invalid_message', formatValidationErrors(decoded.left), requestId));
  }
  return E.right(decoded.right as M);
}

/**
 * Decodes one frame from a client. Never throws: a bad frame is a `Left` whose
 * {@link ProtocolError} names the code (`invalid_json`, `invalid_message`, `unknown_type`), the
 * field and what was wrong, and carries the frame's id when it had one.
 */
export function decodeClientMessage(raw: RawFrame): E.Either<ProtocolError, ClientMessage> {
  return decodeTagged<ClientMessage>(raw, clientMessageCodecs);
}

const hasOwn = (object: object, key: string): boolean => Object.prototype.hasOwnProperty.call(object, key);

/**
 * Checks a message an application wants to push to clients (`WSServer.sendToClient`,
 * `broadcast`) with the codecs clients' decoding is generated from. Never throws: a message a
 * client would reject, or one that may not be pushed (see {@link pushableMessageCodecs}), is a
 * `Left` whose {@link ProtocolError} says why (`invalid_message` or `unknown_type`). The `Right`
 * is the message as it will be sent: `type` and `data`, without fields the protocol does not have.
 */
export function decodePushMessage(message: unknown): E.Either<ProtocolError, PushMessage> {
  const type = isPlainObject(message) ? message.type : undefined;
  if (typeof type === 'string' && hasOwn(serverMessageCodecs, type) && !hasOwn(pushableMessageCodecs, type)) {
    const pushable = Object.keys(pushableMessageCodecs).join(', ');
    return E.left(
      new ProtocolError(
        'invalid_message',
        `${type} messages cannot be pushed: the server sends them itself; push one of ${pushable}`,
      ),
    );
  }
  // The server gives the id; a placeholder lets the message codec check the rest.
  const withId = isPlainObject(message) ? { ...message, id: 'push' } : message;
  const decoded = decodeFields<PushMessage>(checkEnvelope(withId, pushableMessageCodecs), pushableMessageCodecs);
  if (E.isLeft(decoded)) return decoded;
  const { data } = decoded.right;
  try {
    JSON.stringify(data);
  } catch (error) {
    return E.left(new ProtocolError('invalid_message', `data is not JSON: ${(error as Error).message}`));
  }
  return E.right({ type: decoded.right.type, data } as PushMessage);
}

/**
 * Decodes one frame from the server, as {@link decodeClientMessage} does for clients, from the
 * wire shapes generated out of the same codecs (no io-ts at run time, for the client's sake).
 */
export { decodeServerMessage } from './decode-server-message';
export type { RawFrame } from './frame';
// The server's session imported its encoder from here before encode.ts existed.
export { encodeServerMessage } from './encode';
