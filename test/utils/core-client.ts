/**
 * A client of a `makeServer` core over a fake transport, for tests that drive cores directly: it
 * records what it receives and how it was closed, and waits for either (events, not sleeps).
 */
import type { ConnectionHandler, LLMWSCore } from '../../src/core/make-server';
import type { Transport } from '../../src/core/ports';
import type { ServerMessage, ServerMessageType } from '../../src/protocol/codecs';
import { waitUntil } from './wait-until';

/** Longest a wait of a {@link CoreClient} lasts. */
export const CLIENT_WAIT_MS = 2000;

/** A client's socket on one core: what it received, how it was closed, and waits on both. */
export class CoreClient implements Transport {
  readonly received: ServerMessage[] = [];
  closedWith: { code: number; reason: string } | undefined;
  private readonly changed = new Set<() => void>();
  private readonly handler: ConnectionHandler;
  constructor(core: LLMWSCore, principal: unknown) {
    this.handler = core.opened(this, principal);
  }
  send(text: string): void {
    this.received.push(JSON.parse(text) as ServerMessage);
    this.changed.forEach((check) => check());
  }
  close(code: number, reason: string): void {
    if (this.closedWith) return;
    this.closedWith = { code, reason };
    this.changed.forEach((check) => check());
    // The socket's close event comes later, as an adapter reports it.
    queueMicrotask(() => this.handler.closed(code, reason));
  }
  bufferedAmount(): number {
    return 0;
  }
  onDrain(): () => void {
    return () => undefined;
  }
  write(frame: object): void {
    this.handler.receive(JSON.stringify(frame), false);
  }
  /** The client goes away. */
  leave(): void {
    this.closedWith = { code: 1000, reason: '' };
    this.handler.closed(1000, '');
  }
  get greeting(): { sessionId: string; resumeToken: string } {
    return this.received[0]?.data as { sessionId: string; resumeToken: string };
  }
  waitFor(type: ServerMessageType, test: (data: Record<string, unknown>) => boolean = () => true) {
    return waitUntil(
      () => this.received.find((message) => message.type === type && test(message.data as Record<string, unknown>)),
      this.changed,
      CLIENT_WAIT_MS,
      () => `no ${type} came; received: ${this.received.map((message) => message.type).join(' ')}`,
    );
  }
  closed(): Promise<{ code: number; reason: string }> {
    return waitUntil(
      () => this.closedWith,
      this.changed,
      CLIENT_WAIT_MS,
      () => 'the connection was not closed',
    );
  }
  /** The chunks of reply `requestId`, in the order received (not the empty one that closes it). */
  chunks(requestId: string): string[] {
    return this.received.flatMap(({ type, data }) =>
      type === 'llm_chunk' && data.requestId === requestId && !data.isComplete ? [data.chunk] : [],
    );
  }
  /** The messages of the session's stream (those with a seq). */
  get stream(): ServerMessage[] {
    return this.received.filter((message) => message.seq !== undefined);
  }
}
