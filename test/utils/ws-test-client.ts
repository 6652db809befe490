import type { IncomingHttpHeaders } from 'node:http';
import WebSocket from 'ws';
import type { ServerMessage, ServerMessageOf, ServerMessageType } from '../../src/protocol/codecs';
import { waitUntil } from './wait-until';

/**
 * A plain `ws` client for integration tests: records every frame the server sends and lets a
 * test wait for the one it expects, with a timeout that names what it was waiting for.
 */
export interface TestClient {
  readonly socket: WebSocket;
  /** The headers of the server's 101 answer (e.g. the negotiated `sec-websocket-extensions`). */
  readonly upgradeHeaders: IncomingHttpHeaders;
  /** Every message received so far, parsed. */
  readonly received: ServerMessage[];
  send(message: unknown): void;
  sendRaw(data: string | Buffer, options?: { binary?: boolean }): void;
  /** Resolves with the first message (already received or future) that matches; rejects once the socket closes without one. */
  waitFor<K extends ServerMessageType>(
    type: K,
    match?: (message: ServerMessageOf<K>) => boolean,
    timeoutMs?: number,
  ): Promise<ServerMessageOf<K>>;
  /** Messages received so far that carry this requestId, in order. */
  forRequest(requestId: string): ServerMessage[];
  /** Resolves with the close code and reason once the socket closes. */
  closed: Promise<{ code: number; reason: string }>;
  close(): Promise<void>;
}

export async function connectTestClient(url: string, options: WebSocket.ClientOptions = {}): Promise<TestClient> {
  const socket = new WebSocket(url, options);
  let upgradeHeaders: IncomingHttpHeaders = {};
  socket.once('upgrade', (response) => (upgradeHeaders = response.headers));
  const received: ServerMessage[] = [];
  const listeners = new Set<() => void>();
  socket.on('message', (data) => {
    received.push(JSON.parse(data.toString()) as ServerMessage);
    for (const listener of [...listeners]) listener();
  });
  let closedWith: { code: number; reason: string } | undefined;
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.once('close', (code, reason) => {
      closedWith = { code, reason: reason.toString() };
      resolve(closedWith);
      // A wait still pending can end now: nothing more will arrive.
      for (const listener of [...listeners]) listener();
    }),
  );
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
    socket.once('unexpected-response', (_request, response) =>
      reject(new Error(`upgrade refused with HTTP ${response.statusCode}`)),
    );
  });

  const waitFor: TestClient['waitFor'] = (type, match = () => true, timeoutMs = 5000) =>
    waitUntil(
      () => {
        const found = received.find((message) => message.type === type && match(message as never));
        if (found === undefined && closedWith)
          throw new Error(
            `the socket closed (${closedWith.code} ${closedWith.reason}) while waiting for a ${type} message; got ${JSON.stringify(received.map((m) => m.type))}`,
          );
        return found as never;
      },
      listeners,
      timeoutMs,
      () =>
        `timed out after ${timeoutMs} ms waiting for a ${type} message; got ${JSON.stringify(received.map((m) => m.type))}`,
    );

  return {
    socket,
    get upgradeHeaders() {
      return upgradeHeaders;
    },
    received,
    send: (message) => socket.send(JSON.stringify(message)),
    sendRaw: (data, { binary = false } = {}) => socket.send(data, { binary }),
    waitFor,
    forRequest: (requestId) =>
      received.filter((message) => (message.data as { requestId?: string }).requestId === requestId),
    closed,
    close: async () => {
      if (socket.readyState !== WebSocket.CLOSED) {
        socket.close();
        await closed;
      }
    },
  };
}

/** The session a client was greeted with: the first message it received, which must be `session`. */
export function sessionGreeting(client: Pick<TestClient, 'received'>): ServerMessageOf<'session'>['data'] {
  const first = client.received[0];
  if (first?.type !== 'session') throw new Error(`expected a session greeting first, got ${JSON.stringify(first)}`);
  return first.data;
}

/** The `seq` of each message of a session's stream among `messages`, in order of arrival. */
export const seqsOf = (messages: readonly ServerMessage[]): number[] =>
  messages.flatMap((m) => (m.seq === undefined ? [] : [m.seq]));

/** A user_message frame. */
export const userMessage = (id: string, text: string, options?: object) => ({
  type: 'user_message',
  id,
  data: { text, ...(options ? { options } : {}) },
});

/** A control frame. */
export const control = (id: string, type: string, requestId?: string) => ({
  type: 'control',
  id,
  data: { type, ...(requestId ? { requestId } : {}) },
});
