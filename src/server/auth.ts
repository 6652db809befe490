import { secretsEqual } from '../util/secrets-equal';
import type { IncomingMessage } from 'node:http';

export { secretsEqual };

/**
 * Decides who may open a WebSocket: returns a principal (any value but null or undefined), or
 * null to refuse the upgrade with HTTP 401. The principal is kept on the session and passed to
 * tools. It runs once per connection, before the upgrade.
 */
// The union says a promise is welcome, though `unknown` takes it in already.
// eslint-disable-next-line @typescript-eslint/no-redundant-type-constituents
export type Authenticate = (request: IncomingMessage) => unknown | Promise<unknown>;

/** The principal {@link bearerTokenAuthentication} gives an accepted connection. */
export interface TokenPrincipal {
  readonly kind: 'token';
}

/** The token a request presents: `Authorization: Bearer T`, or `?token=T` (browsers cannot set headers). */
export function presentedToken(request: IncomingMessage): string | undefined {
  const header = request.headers.authorization;
  const bearer = header?.match(/^Bearer\s+(.+)$/i)?.[1];
  if (bearer) return bearer.trim();
  return new URL(request.url ?? '/', 'http://localhost').searchParams.get('token') ?? undefined;
}

/** An {@link Authenticate} that accepts one shared token, compared in constant time. */
export function bearerTokenAuthentication(token: string): Authenticate {
  if (!token) throw new TypeError('the auth token must not be empty');
  const principal: TokenPrincipal = { kind: 'token' };
  return (request) => {
    const presented = presentedToken(request);
    return presented !== undefined && secretsEqual(presented, token) ? principal : null;
  };
}

/**
 * Whether a request's Origin may open a WebSocket. Without a list, every origin may. Requests
 * without an Origin header (not from a browser) are not cross-site hijacking and are let through.
 */
export function originAllowed(origin: string | undefined, allowedOrigins: readonly string[] | undefined): boolean {
  if (!allowedOrigins || origin === undefined) return true;
  return allowedOrigins.includes(origin) || allowedOrigins.includes('*');
}
