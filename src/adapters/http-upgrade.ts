/**
 * HTTP upgrade helpers shared by the `ws` adapter and the Node facade (a refusal before the
 * server started).
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

/** A path of unreserved characters and slashes only. */
const PLAIN_PATH = /^\/[A-Za-z0-9\-._~/]*$/;

/** The path of an upgrade request, without its query. */
export function pathnameOf(request: IncomingMessage): string {
  const url = request.url ?? '/';
  const query = url.indexOf('?');
  const path = query === -1 ? url : url.slice(0, query);
  // A plain path is its own pathname: no URL to parse on every upgrade. Anything a parse could
  // change (dot segments, `//`, escapes, a fragment, backslashes) is parsed.
  if (PLAIN_PATH.test(path) && !path.includes('/.') && !path.includes('//')) return path;
  // Only the path matters; the host is a placeholder so relative URLs parse.
  return new URL(url, 'http://localhost').pathname;
}

const statusText: Record<number, string> = {
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** Answers an upgrade with an HTTP error and closes the socket. */
export function refuseUpgrade(socket: Duplex, status: number): void {
  socket.end(`HTTP/1.1 ${status} ${statusText[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
