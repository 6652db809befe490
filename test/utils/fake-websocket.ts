import type { ClientMessage, ServerMessage } from '../../src/protocol/codecs';

/**
 * A WebSocket with the browser API, driven by the test instead of a network, so the client
 * core can be tested in virtual time. Every instance the client creates is kept in `sockets`.
 */
export class FakeWebSocket {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  static sockets: FakeWebSocket[] = [];

  readyState = FakeWebSocket.CONNECTING;
  binaryType = 'blob';
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string; wasClean: boolean }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  /** Frames the client sent, parsed. */
  readonly sent: ClientMessage[] = [];

  constructor(
    readonly url: string,
    readonly protocols?: string | string[],
  ) {
    FakeWebSocket.sockets.push(this);
  }

  /** The newest socket the client made. */
  static get latest(): FakeWebSocket {
    const socket = FakeWebSocket.sockets[FakeWebSocket.sockets.length - 1];
    if (!socket) throw new Error('the client has made no socket yet');
    return socket;
  }

  static reset(): void {
    FakeWebSocket.sockets = [];
  }

  send(data: string): void {
    if (this.readyState !== FakeWebSocket.OPEN) throw new Error('send on a socket that is not open');
    this.sent.push(JSON.parse(data) as ClientMessage);
  }

  close(code = 1000, reason = ''): void {
    if (this.readyState === FakeWebSocket.CLOSED) return;
    this.readyState = FakeWebSocket.CLOSED;
    this.onclose?.({ code, reason, wasClean: true });
  }

  // The server's side, for the test.

  open(): void {
    this.readyState = FakeWebSocket.OPEN;
    this.onopen?.({});
  }

  /** Opens and sends the `session` greeting. */
  accept(sessionId = 'session-1'): void {
    this.open();
    this.deliver({ type: 'session', id: `g-${sessionId}`, data: { sessionId, resumeToken: `token-${sessionId}` } });
  }

  /** The `resume` the client sent on this socket, if it sent one. */
  get resumeRequest(): Extract<ClientMessage, { type: 'resume' }> | undefined {
    return this.sent.find((message): message is Extract<ClientMessage, { type: 'resume' }> => message.type === 'resume');
  }

  /** Opens, greets with a fresh session, then confirms the client's resume, as a server that kept the session. */
  acceptResume(lastSeq = 0): void {
    this.accept('fresh-session');
    const resume = this.resumeRequest;
    if (!resume) throw new Error('the client sent no resume');
    const { sessionId, resumeToken } = resume.data;
    this.deliver({ type: 'session', id: 'resumed', data: { sessionId, resumeToken, resumed: true, requestId: resume.id, lastSeq } });
  }

  /** Opens, greets with `sessionId`, then refuses the client's resume with `code`, as a restarted server would. */
  refuseResume(code: 'session_lost' | 'resume_gap', sessionId = 'fresh-session'): void {
    this.accept(sessionId);
    const resume = this.resumeRequest;
    if (!resume) throw new Error('the client sent no resume');
    this.deliver({ type: 'error', id: 'refused', data: { code, message: `${code} (fake)`, retryable: false, requestId: resume.id } });
  }

  deliver(message: ServerMessage | string): void {
    this.onmessage?.({ data: typeof message === 'string' ? message : JSON.stringify(message) });
  }

  /** The server closes the connection (cleanly unless told otherwise). */
  serverClose(code = 1001, reason = 'server stopping', wasClean = true): void {
    this.readyState = FakeWebSocket.CLOSED;
    this.onclose?.({ code, reason, wasClean });
  }

  /** The network fails: an error, then an unclean close. */
  fail(): void {
    this.onerror?.({ message: 'network down' });
    this.readyState = FakeWebSocket.CLOSED;
    this.onclose?.({ code: 1006, reason: '', wasClean: false });
  }

  /** The ids of the sent frames of one type. */
  sentOf(type: ClientMessage['type']): ClientMessage[] {
    return this.sent.filter((message) => message.type === type);
  }
}
