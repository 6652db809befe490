/**
 * `llm-ws serve --auth-tokens-file FILE`: one line per user, `token principal`, so that each
 * user's sessions are theirs alone (a session is bound to the principal that created it).
 */
import { readFileSync } from 'node:fs';
import type { Authenticate } from '../server/auth';
import { presentedToken, secretsEqual } from '../server/auth';

/** The principal a token of `--auth-tokens-file` (or `--auth-token`, without `user`) gives a connection. */
export interface CliTokenPrincipal {
  readonly kind: 'token';
  /** The name the file gives the token's holder. */
  readonly user?: string;
}

/** One line of the file: a token and who holds it. */
export interface AuthTokenEntry {
  readonly token: string;
  readonly principal: CliTokenPrincipal;
}

/** Whether `c` is a space or a tab. */
const isBlank = (c: string): boolean => c === ' ' || c === '\t';

/**
 * Reads the text of an auth tokens file: `token principal` per line, separated by spaces or tabs;
 * blank lines and lines starting with `#` are skipped. Throws an Error naming the line for a line
 * without a principal, a principal with spaces, or a token given twice.
 */
export function parseAuthTokens(text: string, source = 'the auth tokens file'): AuthTokenEntry[] {
  const entries: AuthTokenEntry[] = [];
  const seen = new Set<string>();
  const lines = text.split('\n');
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    let end = 0;
    while (end < line.length && !isBlank(line[end] as string)) end++;
    const token = line.slice(0, end);
    const user = line.slice(end).trim();
    const where = `${source}, line ${i + 1}`;
    if (user === '') throw new Error(`${where}: expected "token principal", got a token alone`);
    if (user.includes(' ') || user.includes('\t'))
      throw new Error(`${where}: the principal "${user}" has a space in it`);
    if (seen.has(token)) throw new Error(`${where}: this token was given before`);
    seen.add(token);
    entries.push({ token, principal: { kind: 'token', user } });
  }
  if (entries.length === 0) throw new Error(`${source} names no token`);
  return entries;
}

/** {@link parseAuthTokens} of the file at `path`. */
export function readAuthTokensFile(path: string): AuthTokenEntry[] {
  return parseAuthTokens(readFileSync(path, 'utf8'), path);
}

/**
 * An {@link Authenticate} that accepts any of `entries`' tokens (`Authorization: Bearer`, or
 * `?token=`) and gives the connection that token's principal. Every token is compared, in
 * constant time each, so the time taken does not say which one came close.
 */
export function tokensAuthentication(entries: readonly AuthTokenEntry[]): Authenticate {
  if (entries.length === 0) throw new TypeError('at least one auth token is needed');
  return (request) => {
    const presented = presentedToken(request);
    if (presented === undefined) return null;
    let found: CliTokenPrincipal | null = null;
    for (const entry of entries) if (secretsEqual(presented, entry.token) && found === null) found = entry.principal;
    return found;
  };
}
