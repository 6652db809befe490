/**
 * Code units that JavaScript's `\s` matches. Text is split by a loop over these rather than a
 * regular expression: a regexp over input of unbounded length can overflow V8's stack (a 10 MB
 * word threw RangeError in `/\S+\s*|\s+/g`).
 */
const WHITESPACE = new Set([
  0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007,
  0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000, 0xfeff,
]);

/** Whether `text[index]` is white space, as `\s` says. */
export function isWhitespaceAt(text: string, index: number): boolean {
  return WHITESPACE.has(text.charCodeAt(index));
}

/**
 * Splits text into word-sized chunks, as a model streams it: each chunk is a word with the white
 * space after it; white space at the start is a chunk of its own. Joined, the chunks are `text`.
 * Linear in the length of `text`, whatever it holds.
 */
export function wordChunks(text: string): string[] {
  const chunks: string[] = [];
  let start = 0;
  let i = 0;
  // Leading white space: a chunk of its own.
  while (i < text.length && isWhitespaceAt(text, i)) i++;
  if (i > 0) {
    chunks.push(text.slice(0, i));
    start = i;
  }
  while (i < text.length) {
    while (i < text.length && !isWhitespaceAt(text, i)) i++;
    while (i < text.length && isWhitespaceAt(text, i)) i++;
    chunks.push(text.slice(start, i));
    start = i;
  }
  return chunks;
}
