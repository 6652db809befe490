/** `attachments` on the wire: optional (old text-only frames decode as before), and bounded. */
import * as E from 'fp-ts/Either';
import fc from 'fast-check';
import { base64Bytes } from '../../src/core/attachments';
import { decodeClientMessage } from '../../src/protocol/decode';

const frame = (data: object) => JSON.stringify({ type: 'user_message', id: 'm1', data });

describe('user_message attachments', () => {
  it.each([
    ['a text-only frame of before attachments', { text: 'hi' }],
    ['a frame with options and client tools', { text: 'hi', options: { temperature: 1 } }],
    ['data', { text: 'hi', attachments: [{ mediaType: 'image/png', data: 'AAAA', name: 'a.png' }] }],
    ['a url', { text: '', attachments: [{ mediaType: 'image/png', url: 'https://example.com/a.png' }] }],
  ])('decodes %s', (_, data) => {
    const decoded = decodeClientMessage(frame(data));
    expect(E.isRight(decoded) && decoded.right).toEqual({ type: 'user_message', id: 'm1', data });
  });

  it.each([
    ['both data and url', [{ mediaType: 'image/png', data: 'AAAA', url: 'https://a/b' }]],
    ['neither', [{ mediaType: 'image/png' }]],
    ['an empty mediaType', [{ mediaType: '', data: 'AAAA' }]],
    ['a name of 256 characters', [{ mediaType: 'image/png', data: 'AAAA', name: 'x'.repeat(256) }]],
    ['17 of them', Array.from({ length: 17 }, () => ({ mediaType: 'image/png', data: 'AAAA' }))],
    ['data that is not a string', [{ mediaType: 'image/png', data: 42 }]],
  ])('refuses %s as invalid_message', (_, attachments) => {
    const decoded = decodeClientMessage(frame({ text: 'hi', attachments }));
    expect(E.isLeft(decoded) && decoded.left.code).toBe('invalid_message');
  });

  it('drops keys an attachment does not have', () => {
    const decoded = decodeClientMessage(
      frame({ text: 'hi', attachments: [{ mediaType: 'image/png', data: 'AAAA', __proto__x: 1 }] }),
    );
    expect(E.isRight(decoded) && decoded.right.type === 'user_message' && decoded.right.data.attachments).toEqual([
      { mediaType: 'image/png', data: 'AAAA' },
    ]);
  });
});

describe('base64Bytes', () => {
  it('is the decoded length of any base64 text, as Buffer decodes it', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        expect(base64Bytes(Buffer.from(bytes).toString('base64'))).toBe(bytes.length);
      }),
    );
  });

  it.each(['abc', 'ab=c', 'a===', 'ab c', 'ab-_', '====', 'ab==AAAA'])('refuses %j', (text) => {
    expect(base64Bytes(text)).toBeUndefined();
  });
});
