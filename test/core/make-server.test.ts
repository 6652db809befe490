import { of } from 'rxjs';
import { silentLogger } from '../../src/core/logger';
import { type MakeServerOptions, makeServer } from '../../src/core/make-server';
import type { Transport } from '../../src/core/ports';
import type { LLMEvent } from '../../src/llm/types';
import type { ServerMessage } from '../../src/protocol/codecs';
import { memoryStore } from '../../src/store/memory-store';
import { testSessionSettings } from '../utils/session-settings';

/** A transport that records what the core sends; its buffer is always empty. */
class RecordingTransport implements Transport {
  readonly messages: ServerMessage[] = [];
  closedWith: { code: number; reason: string } | undefined;
  send(text: string): void {
    this.messages.push(JSON.parse(text) as ServerMessage);
  }
  close(code: number, reason: string): void {
    this.closedWith = { code, reason };
  }
  bufferedAmount(): number {
    return 0;
  }
  onDrain(): () => void {
    return () => undefined;
  }
}

const answer: LLMEvent[] = [
  { type: 'text', delta: 'hello' },
  { type: 'finish', reason: 'stop' },
];

function options(overrides: Partial<MakeServerOptions> = {}): MakeServerOptions {
  return {
    store: memoryStore(),
    session: testSessionSettings(() => of(...answer)),
    sessionTtlMs: 60_000,
    logger: silentLogger,
    ...overrides,
  };
}

describe('makeServer', () => {
  it('greets each opened transport with a session and answers its messages', async () => {
    const connected: string[] = [];
    const core = makeServer(options({ hooks: { onConnected: (sessionId) => connected.push(sessionId) } }));
    await core.ready();
    const transport = new RecordingTransport();
    const handler = core.opened(transport, { user: 'ada' });
    const greeting = transport.messages[0];
    expect(greeting?.type).toBe('session');
    const sessionId = (greeting?.data as { sessionId: string }).sessionId;
    expect(connected).toEqual([sessionId]);
    expect([...core.sessions()].map((session) => session.principal)).toEqual([{ user: 'ada' }]);

    handler.receive(JSON.stringify({ type: 'user_message', id: 'q1', data: { text: 'hi' } }), false);
    const complete = transport.messages.find((message) => message.type === 'llm_complete');
    expect(complete?.data).toMatchObject({ fullText: 'hello', requestId: 'q1', finishReason: 'stop' });
    await core.close();
  });

  it('puts pushes into a session stream and broadcasts to all but one', async () => {
    const core = makeServer(options());
    const [a, b] = [new RecordingTransport(), new RecordingTransport()];
    core.opened(a, undefined);
    core.opened(b, undefined);
    const idOf = (transport: RecordingTransport): string =>
      (transport.messages[0]?.data as { sessionId: string }).sessionId;
    const notification = { type: 'notification' as const, data: { event: 'hello', payload: 1 } };
    expect(await core.push(idOf(a), notification)).toBe(true);
    expect(await core.push('no-such-session', notification)).toBe(false);
    expect(await core.broadcast(notification, idOf(a))).toBe(1);
    expect(a.messages.filter((message) => message.type === 'notification')).toHaveLength(1);
    expect(b.messages.filter((message) => message.type === 'notification')).toHaveLength(1);
    await core.close();
  });

  it('closes a transport past the session budget with 1013 and gives it no session', async () => {
    const core = makeServer(options({ budget: { maxSessions: 1, maxBytes: Infinity } }));
    core.opened(new RecordingTransport(), undefined);
    const refused = new RecordingTransport();
    const handler = core.opened(refused, undefined);
    expect(refused.closedWith?.code).toBe(1013);
    expect(refused.messages).toEqual([]);
    handler.receive('{}', false);
    expect(refused.messages).toEqual([]);
    expect(core.sessionCount).toBe(1);
    await core.close();
  });

  it('tells connected clients when to come back on close, and ends every session', async () => {
    const core = makeServer(options());
    const transport = new RecordingTransport();
    core.opened(transport, undefined);
    await core.close({ retryAfterMs: 2500 });
    expect(transport.messages.at(-1)).toMatchObject({
      type: 'closing',
      data: { reason: 'server stopping', retryAfterMs: 2500 },
    });
    expect(core.sessionCount).toBe(0);
  });
});
