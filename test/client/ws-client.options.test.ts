import { WSClient } from '../../src/client/ws-client';
import { WSClient as NodeWSClient } from '../../src/client/node';
import { humanInTheLoop } from '../../src/client/human-in-the-loop';
import type { WSClientOptions } from '../../src/client/options';
import { LLMWSError } from '../../src/errors';
import { createFakeServer } from '../../src/testing';

/** What a new user gets from bad options and a socket that fails at once. */
describe('WSClient options', () => {
  const base = (): WSClientOptions => ({
    url: 'ws://fake/ws',
    WebSocketCtor: createFakeServer().WebSocketCtor,
    heartbeatInterval: 0,
  });

  const invalid = (options: unknown, option: string) => {
    let thrown: unknown;
    try {
      new WSClient(options as WSClientOptions);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(LLMWSError);
    expect(thrown).toMatchObject({ code: 'invalid_options', retryable: false });
    expect((thrown as Error).message).toContain(option);
  };

  it('rejects a missing or malformed url at construction with invalid_options', () => {
    invalid({}, 'url');
    invalid(undefined, 'url');
    invalid({ url: 3000 }, 'url');
    invalid({ url: 'not a url' }, 'url');
    invalid({ url: 'ftp://localhost:3000/ws' }, 'url');
    invalid({ url: 'ws://' }, 'url');
    expect(() => new NodeWSClient({} as WSClientOptions)).toThrow(expect.objectContaining({ code: 'invalid_options' }));
  });

  it('accepts ws:, wss:, and http(s): (which WebSockets map to ws(s):)', () => {
    expect(() => new WSClient({ ...base(), url: 'wss://example.com/ws' })).not.toThrow();
    expect(() => new WSClient({ ...base(), url: 'ws://127.0.0.1:1/' })).not.toThrow();
    expect(() => new WSClient({ ...base(), url: 'https://example.com/ws' })).not.toThrow();
  });

  it.each([
    ['timeout', -1],
    ['timeout', 'x'],
    ['timeout', 0],
    ['timeout', Number.NaN],
    ['reconnectAttempts', -1],
    ['reconnectAttempts', 1.5],
    ['reconnectDelay', -5],
    ['maxReconnectDelay', 'soon'],
    ['reconnectJitter', 2],
    ['reconnectJitter', -0.1],
    ['heartbeatInterval', -1],
    ['maxQueueSize', -1],
    ['maxQueueSize', 2.5],
    ['queueTimeoutMs', -1],
    ['replyTimeoutMs', 0],
    ['replyTimeoutMs', '10s'],
    ['protocols', 42],
    ['protocols', ['ok', 3]],
    ['WebSocketCtor', 'ws'],
    ['scheduler', {}],
    ['random', 0.5],
    ['maxToolResultBytes', 0],
    ['tools', { name: 't' }],
  ])('rejects %s: %p with invalid_options naming it', (option, value) => {
    invalid({ ...base(), [option]: value }, option);
  });

  it('checks the client tools whole, naming the tool at fault', () => {
    const tool = (name: unknown) => ({ name, description: '', parameters: {}, execute: () => 1 });
    const message = (tools: unknown[]) => {
      try {
        new WSClient({ ...base(), humanInTheLoop, tools: tools as WSClientOptions['tools'] });
      } catch (error) {
        expect(error).toMatchObject({ code: 'invalid_options' });
        return (error as Error).message;
      }
      return 'accepted';
    };
    expect(message([tool('ok'), tool('get time')])).toBe(
      'WSClient: option `tools`: tools[1].name must be 1 to 64 letters, digits, _ or -, got "get time"',
    );
    expect(message([tool(7)])).toBe(
      'WSClient: option `tools`: tools[0].name must be 1 to 64 letters, digits, _ or -, got 7',
    );
    expect(message([{ name: 'clock' }])).toBe('WSClient: option `tools`: tool "clock" has no execute function');
    expect(message([tool('a'), tool('a')])).toBe('WSClient: option `tools`: two tools are named "a"');
    expect(message(Array.from({ length: 33 }, (_, i) => tool(`t${i}`)))).toBe(
      'WSClient: option `tools`: at most 32 tools, got 33',
    );
    expect(message(Array.from({ length: 32 }, (_, i) => tool(`t${i}`)))).toBe('accepted');
  });

  it('refuses tools without the opt-in humanInTheLoop, and approve()/deny() without it throw a TypeError', () => {
    const tools = [{ name: 'clock', description: '', parameters: {}, execute: () => 1 }];
    expect(() => new WSClient({ ...base(), tools })).toThrow(
      new LLMWSError(
        'invalid_options',
        "WSClient: option `tools` needs the option `humanInTheLoop` (import { humanInTheLoop } from 'llm-ws/client')",
      ),
    );
    expect(() => new WSClient({ ...base(), tools: [] })).not.toThrow();
    invalid({ ...base(), humanInTheLoop: true }, 'humanInTheLoop');
    const client = new WSClient(base());
    expect(() => client.approve('call_1')).toThrow(TypeError);
    expect(() => client.deny('call_1')).toThrow(/need the humanInTheLoop option/);
  });

  it('accepts the documented values at their bounds', () => {
    const ok: Array<Partial<WSClientOptions>> = [
      {
        reconnectAttempts: 0,
        maxQueueSize: 0,
        reconnectDelay: 0,
        reconnectJitter: 0,
        heartbeatInterval: 0,
        queueTimeoutMs: 0,
      },
      {
        reconnectAttempts: Infinity,
        queueTimeoutMs: Infinity,
        replyTimeoutMs: Infinity,
        reconnectJitter: 1,
        maxQueueSize: 1,
      },
      { protocols: 'llm-ws', replyTimeoutMs: undefined, timeout: undefined },
      { protocols: ['a', 'b'] },
    ];
    for (const options of ok) expect(() => new WSClient({ ...base(), ...options })).not.toThrow();
  });
});

describe('WSClient.connect() always returns a promise', () => {
  it('rejects (never returns undefined, never resolves) when the socket fails synchronously', async () => {
    const client = new WSClient({
      url: 'ws://fake/ws',
      reconnectAttempts: 0,
      heartbeatInterval: 0,
      // A WebSocket whose constructor throws, as a browser's does for a bad URL.
      // eslint-disable-next-line @typescript-eslint/no-extraneous-class
      WebSocketCtor: class {
        constructor() {
          throw new SyntaxError('the constructor refused');
        }
      } as never,
    });
    const errors: string[] = [];
    client.errors$.subscribe((error) => errors.push(error.code));
    const connecting = client.connect();
    expect(connecting).toBeInstanceOf(Promise);
    await expect(connecting).rejects.toMatchObject({ code: 'reconnect_failed' });
    // The attempt's own failure at once, then the give-up.
    expect(errors).toEqual(['connection_lost', 'reconnect_failed']);
    expect(client.isConnected()).toBe(false);
  });

  it('rejects when there is no WebSocket implementation', async () => {
    const client = new WSClient({ url: 'ws://fake/ws', heartbeatInterval: 0 });
    const original = (globalThis as { WebSocket?: unknown }).WebSocket;
    (globalThis as { WebSocket?: unknown }).WebSocket = undefined;
    try {
      await expect(client.connect()).rejects.toBeInstanceOf(TypeError);
    } finally {
      (globalThis as { WebSocket?: unknown }).WebSocket = original;
    }
  });
});
