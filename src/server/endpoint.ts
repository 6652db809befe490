import type { AddressInfo } from 'node:net';
import { DEFAULT_HOSTNAME, DEFAULT_PATH, type WSServerOptions } from './options';

/**
 * The WebSocket URL clients connect to on a server listening at `address`: the host named as
 * configured (a wildcard, which listens on loopback too, as `localhost`), else the bound address.
 */
export function wsUrlOf(address: AddressInfo, options: Pick<WSServerOptions, 'server' | 'hostname' | 'path'>): string {
  // An app's server bound to every interface (Node's default for listen(port)) is named localhost too.
  const named = options.server ? address.address : (options.hostname ?? DEFAULT_HOSTNAME);
  const wildcard = named === '0.0.0.0' || named === '::';
  const host = wildcard ? 'localhost' : named;
  return `ws://${host.includes(':') ? `[${host}]` : host}:${address.port}${options.path ?? DEFAULT_PATH}`;
}
