import fc from 'fast-check';
import type { ServerMessageInput } from '../../src/protocol/codecs';
import { encodeServerMessage, quoteJsonString } from '../../src/protocol/encode';

/** What every frame must be: the one JSON.stringify of its envelope would give, key for key. */
const generic = (message: ServerMessageInput, id: string, seq?: number): string =>
  JSON.stringify(
    seq === undefined
      ? { type: message.type, id, data: message.data }
      : { type: message.type, id, seq, data: message.data },
  );

describe('quoteJsonString', () => {
  it('is JSON.stringify of any string: plain text, escapes, paired and lone surrogates', () => {
    for (const text of [
      '',
      'plain',
      'a"b',
      'a\\b',
      'line\nnext',
      '\u0000\u001f\u007f',
      '\u2028',
      '😀',
      '\ud800',
      'x\udc00',
    ]) {
      expect(quoteJsonString(text)).toBe(JSON.stringify(text));
    }
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        expect(quoteJsonString(text)).toBe(JSON.stringify(text));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('encodeServerMessage', () => {
  it("writes a reply's chunk into its pre-built envelope exactly as JSON.stringify would (any text, id and seq)", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary' }), // lone surrogates, quotes, control characters included
        fc.boolean(),
        fc.string({ unit: 'binary' }),
        fc.string(),
        fc.option(fc.nat(), { nil: undefined }),
        (chunk, isComplete, requestId, id, seq) => {
          const message: ServerMessageInput = { type: 'llm_chunk', data: { chunk, isComplete, requestId } };
          expect(encodeServerMessage(message, id, seq)).toBe(generic(message, id, seq));
        },
      ),
    );
  });

  it('encodes any other chunk shape (pushed without a requestId, other key order) like any message', () => {
    const pushed: ServerMessageInput = { type: 'llm_chunk', data: { chunk: 'hi', isComplete: false } };
    expect(encodeServerMessage(pushed, 'm1', 3)).toBe(
      '{"type":"llm_chunk","id":"m1","seq":3,"data":{"chunk":"hi","isComplete":false}}',
    );
    const reordered: ServerMessageInput = {
      type: 'llm_chunk',
      data: { requestId: 'r', chunk: 'hi', isComplete: true },
    };
    expect(JSON.parse(encodeServerMessage(reordered, 'm2'))).toEqual({
      type: 'llm_chunk',
      id: 'm2',
      data: { requestId: 'r', chunk: 'hi', isComplete: true },
    });
    const status: ServerMessageInput = { type: 'status', data: { status: 'idle', requestId: 'r' } };
    expect(encodeServerMessage(status, 'm3', 4)).toBe(generic(status, 'm3', 4));
  });
});
