import { ConnectionClosedError } from '../errors';

/** Close codes after which reconnecting cannot help: the server refused this client. */
const REFUSING_CLOSE_CODES = new Set([1008, 4400, 4401, 4403]);

/** How the socket closed, when it closed with a code. */
export interface CloseInfo {
  readonly code: number;
  readonly reason: string;
}

/** The {@link ConnectionClosedError} a failed or ended socket stands for: refused for good, or lost. */
export function connectionError(error: unknown, close: CloseInfo | undefined): ConnectionClosedError {
  if (error instanceof ConnectionClosedError) return error;
  const detail = (error as { message?: unknown } | undefined)?.message;
  const reason = close
    ? `closed with ${close.code}${close.reason ? `: ${close.reason}` : ''}`
    : `the socket failed${typeof detail === 'string' && detail ? `: ${detail}` : ''}`;
  // Node's ws reports a refused upgrade as "Unexpected server response: 401" (a browser's WebSocket
  // cannot see the status: there a refusal looks like a network failure). A wrong path (404), bad
  // credentials (401, 403) or a malformed handshake (400) stay so on a retry; 429 and 5xx may not.
  const refusedUpgrade = typeof detail === 'string' && /Unexpected server response: (400|401|403|404)\b/.test(detail);
  if ((close && REFUSING_CLOSE_CODES.has(close.code)) || refusedUpgrade) {
    return new ConnectionClosedError('connection_refused', `the server refused the connection (${reason})`, {
      closeCode: close?.code,
    });
  }
  return new ConnectionClosedError('connection_lost', `connection lost (${reason})`, {
    closeCode: close?.code,
    cause: error,
  });
}
