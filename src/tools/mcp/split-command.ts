/**
 * A command line split into words as a POSIX shell would for the simple cases: spaces separate,
 * '...' keeps everything literal, "..." keeps spaces (with \" and \\ inside), \ escapes one
 * character. No variables, globs or pipes: the program is run directly, never through a shell.
 */
export function splitCommandLine(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < line.length; i++) {
    const char = line[i] as string;
    if (quote === "'") {
      if (char === "'") quote = undefined;
      else word += char;
    } else if (quote === '"') {
      if (char === '"') quote = undefined;
      else if (char === '\\' && (line[i + 1] === '"' || line[i + 1] === '\\')) word += line[++i] as string;
      else word += char;
    } else if (char === "'" || char === '"') {
      quote = char;
      inWord = true;
    } else if (char === '\\' && i + 1 < line.length) {
      word += line[++i] as string;
      inWord = true;
    } else if (char === ' ' || char === '\t' || char === '\n') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += char;
      inWord = true;
    }
  }
  if (quote) throw new SyntaxError(`unclosed ${quote} in ${JSON.stringify(line.slice(0, 200))}`);
  if (inWord) words.push(word);
  return words;
}
