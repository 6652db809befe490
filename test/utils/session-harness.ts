/**
 * Sessions and connections as the server makes them, over fake transports and a scripted model
 * on a TestScheduler: for marble tests of the session and its reply pipeline.
 */
import type { Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import type { LLMEvent, LLMRequest } from '../../src/llm/types';
import type { ServerMessage } from '../../src/protocol/codecs';
import { createConnection, type Connection } from '../../src/core/connection';
import type { SessionDirectory } from '../../src/core/ports';
import { silentLogger } from '../../src/server/logger';
import { newSessionIdentity } from '../../src/core/ids';
import { createSession, type SessionOptions } from '../../src/core/session';
import { createLocalSessions } from '../../src/core/sessions';
import { createMemorySessionDirectory } from '../../src/store/memory-store';
import { testSessionSettings } from './session-settings';

export const e = {
  a: { type: 'text', delta: 'one ' },
  b: { type: 'text', delta: 'two ' },
  c: { type: 'text', delta: 'three' },
  s: { type: 'finish', reason: 'stop' },
} satisfies Record<string, LLMEvent>;

/**
 * A transport that records frames with their (virtual) time; its buffer level is the test's to
 * set, and setting it lower fires the drain signal, as a socket's write callbacks would.
 */
export class FakeTransport {
  readonly frames: { at: number; message: ServerMessage }[] = [];
  closedWith: { code: number; reason: string } | undefined;
  private level = 0;
  private readonly drainListeners = new Set<() => void>();
  constructor(private readonly scheduler: TestScheduler) {}
  get buffered(): number {
    return this.level;
  }
  set buffered(bytes: number) {
    const fell = bytes < this.level;
    this.level = bytes;
    if (fell) for (const listener of [...this.drainListeners]) listener();
  }
  onDrain = (listener: () => void): (() => void) => {
    const own = (): void => listener();
    this.drainListeners.add(own);
    return () => this.drainListeners.delete(own);
  };
  send = (text: string): void => {
    this.frames.push({ at: this.scheduler.now(), message: JSON.parse(text) as ServerMessage });
  };
  close = (code: number, reason: string): void => {
    this.closedWith = { code, reason };
  };
  bufferedAmount = (): number => this.buffered;
  /** What was sent, as `time type detail requestId [#seq]` lines: easy to read in a failing test. */
  log(): string[] {
    return this.frames.map(({ at, message }) => {
      const data = message.data as Record<string, unknown>;
      const detail = data.status ?? data.chunk ?? data.code ?? data.finishReason ?? '';
      const seq = message.seq === undefined ? '' : ` #${message.seq}`;
      return `${at} ${message.type} ${String(detail)} ${String(data.requestId ?? '')}`.trim() + seq;
    });
  }
}

/** Sessions and connections as the server makes them, over fake transports and a scripted model. */
export function harness(
  scheduler: TestScheduler,
  rounds: Observable<LLMEvent>[] = [],
  overrides: Partial<SessionOptions> = {},
) {
  const requests: LLMRequest[] = [];
  let counter = 0;
  const registry = createLocalSessions({ ttlMs: 60_000 });
  const directory = createMemorySessionDirectory({
    sessions: registry,
    newIdentity: newSessionIdentity,
    makeSession: ({ sessionId, resumeToken, principal }) =>
      createSession({
        sessionId,
        resumeToken,
        principal,
        ...testSessionSettings(
          (request) => {
            requests.push(request);
            const next = rounds.shift();
            if (!next) throw new Error('no more model rounds scripted');
            return next;
          },
          { maxMessageLength: 50 },
        ),
        nextMessageId: () => `m${counter++}`,
        ...overrides,
      }),
  });
  const connect = (rateLimit?: { ratePerSecond: number; burst: number }, over: SessionDirectory = directory) => {
    const transport = new FakeTransport(scheduler);
    const connection: Connection = createConnection({
      transport,
      principal: undefined,
      directory: over,
      sessions: registry,
      rateLimit,
      logger: silentLogger,
    });
    const at = (time: number, frame: unknown): void => {
      scheduler.schedule(
        () => connection.receive(typeof frame === 'string' ? frame : JSON.stringify(frame), false),
        time,
      );
    };
    return { transport, connection, at };
  };
  return { registry, directory, requests, connect };
}

export const userMessage = (id: string, text = 'hi', options?: object) => ({
  type: 'user_message',
  id,
  data: { text, ...(options ? { options } : {}) },
});
export const control = (id: string, type: string, requestId?: string) => ({
  type: 'control',
  id,
  data: { type, ...(requestId ? { requestId } : {}) },
});
export const newScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
export const greetingOf = (transport: FakeTransport) =>
  transport.frames[0]?.message as Extract<ServerMessage, { type: 'session' }>;
