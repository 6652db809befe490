import fc from 'fast-check';
import { wordChunks } from '../../src/util/word-chunks';

describe('wordChunks', () => {
  it.each([
    ['', []],
    ['one', ['one']],
    ['one two', ['one ', 'two']],
    ['  lead', ['  ', 'lead']],
    ['trail  ', ['trail  ']],
    ['a\n\tb\u00a0c\u3000', ['a\n\t', 'b\u00a0', 'c\u3000']],
    ['   ', ['   ']],
  ])('splits %j into %j', (text, chunks) => {
    expect(wordChunks(text)).toEqual(chunks);
  });

  it('splits as /\\S+\\s*|\\s+/g does, for any text a regexp can still take', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom('a', 'b', ' ', '\n', '\u2028', '\u00a0', 'é', '\ufeff') }),
        (text) => {
          expect(wordChunks(text)).toEqual(text.match(/\S+\s*|\s+/g) ?? []);
        },
      ),
    );
  });

  // That regexp threw RangeError (V8's stack) on a word this long in the test server.
  it('splits a 10 MB word', () => {
    const word = 'x'.repeat(10 * 1024 * 1024);
    const chunks = wordChunks(`${word} end`);
    expect(chunks).toHaveLength(2);
    expect(chunks[0]).toHaveLength(word.length + 1);
  });
});
