/**
 * One benchmark client connection over either protocol: plain WebSocket frames (the bare relay
 * and llm-ws) or socket.io events. Messages are the same JSON objects on both.
 */
import { io } from 'socket.io-client';
import WebSocket from 'ws';

/** How a load client talks to a server arm. */
export type Transport = 'ws' | 'socket.io';

export interface BenchConnection {
  send(message: object): void;
  /** Closes politely. */
  close(): void;
  /** Drops the connection at once (a network failure). */
  destroy(): void;
  /** Stops reading from the network: a stalled reader. */
  stall(): void;
}

export interface BenchHandlers {
  open?(): void;
  /** A message and the bytes it took on the wire. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a frame of any of the benchmarked servers, read field by field.
  message(message: any, bytes: number, receivedAt: number): void;
  error(error: Error): void;
}

export function openConnection(
  transport: Transport,
  url: string,
  handlers: BenchHandlers,
  now: () => number,
): BenchConnection {
  if (transport === 'ws') {
    const socket = new WebSocket(url);
    socket.on('open', () => handlers.open?.());
    socket.on('message', (raw) => {
      const receivedAt = now();
      const text = raw.toString();
      handlers.message(JSON.parse(text), Buffer.byteLength(text), receivedAt);
    });
    socket.on('error', (error) => handlers.error(error));
    return {
      send: (message) => socket.send(JSON.stringify(message)),
      close: () => socket.close(),
      destroy: () => socket.terminate(),
      stall: () => (socket as unknown as { _socket: { pause(): void } })._socket.pause(),
    };
  }
  const { origin, pathname } = new URL(url.replace(/^ws/, 'http'));
  const socket = io(origin, { path: pathname, transports: ['websocket'], reconnection: false, forceNew: true });
  socket.on('connect', () => handlers.open?.());
  socket.on('message', (message: object) => {
    const receivedAt = now();
    // What socket.io put on the wire for this event: packet type 4 (message), 2 (event), the JSON array.
    handlers.message(message, Buffer.byteLength(`42${JSON.stringify(['message', message])}`), receivedAt);
  });
  socket.on('connect_error', (error) => handlers.error(error));
  const engineSocket = (): { pause(): void; destroy(): void } | undefined =>
    (socket.io.engine as unknown as { transport?: { ws?: { _socket?: { pause(): void; destroy(): void } } } }).transport
      ?.ws?._socket;
  return {
    send: (message) => socket.emit('message', message),
    close: () => socket.disconnect(),
    destroy: () => engineSocket()?.destroy(),
    stall: () => engineSocket()?.pause(),
  };
}
