import * as E from 'fp-ts/Either';

/** `text`, cut to `max` characters with `...` when longer. */
export function prefixOf(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}

/**
 * Parses a tool call's argument text. An empty string means no arguments (`{}`), as some
 * models send for tools without parameters.
 */
export function parseToolArguments(text: string): E.Either<string, unknown> {
  if (text.trim() === '') return E.right({});
  try {
    return E.right(JSON.parse(text));
  } catch {
    return E.left(`arguments are not valid JSON: ${prefixOf(text, 80)}`);
  }
}
