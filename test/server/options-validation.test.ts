import { Registry } from 'prom-client';
import { LLMWSError } from '../../src/errors';
import { offlineProvider } from '../../src/llm/offline-provider';
import type { Logger } from '../../src/server/logger';
import type { WSServerOptions } from '../../src/server/options';
import { WSServer } from '../../src/server/ws-server';
import { connectTestClient } from '../utils/ws-test-client';

/** A logger that keeps what it was told. */
function recordingLogger(): { logger: Logger; lines: { level: string; message: string; fields: unknown }[] } {
  const lines: { level: string; message: string; fields: unknown }[] = [];
  const at = (level: string) => (first: object | string, message?: string) =>
    void lines.push(
      typeof first === 'string'
        ? { level, message: first, fields: undefined }
        : { level, message: message ?? '', fields: first },
    );
  return { logger: { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') }, lines };
}

const quiet = { llm: offlineProvider(), logger: recordingLogger().logger };
const make = (options: unknown) => () => new WSServer({ ...quiet, ...(options as WSServerOptions) });

let server: WSServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

describe('WSServer options checked at construction', () => {
  it.each<[string, unknown, RegExp]>([
    ['port', 'abc', /`port` must be a whole number from 0 to 65535, got "abc"/],
    ['port', -5, /`port` must be a whole number from 0 to 65535, got -5/],
    ['port', 70_000, /`port` must be a whole number from 0 to 65535/],
    ['port', 1.5, /`port` must be a whole number/],
    ['maxConnections', '10', /`maxConnections` must be a whole number of 1 or more, got "10"/],
    ['maxConnections', 0, /`maxConnections` must be a whole number of 1 or more, got 0/],
    ['heartbeatInterval', 'x', /`heartbeatInterval` must be a number of milliseconds from 0/],
    ['heartbeatInterval', 2 ** 31, /`heartbeatInterval` must be a number of milliseconds from 0 to 2147483647/],
    ['sessionTtlMs', Number.NaN, /`sessionTtlMs` must be a number of milliseconds above 0/],
    ['rateLimit', true, /`rateLimit` must be false, or \{ ratePerSecond, burst \}/],
    ['rateLimit', { ratePerSecond: 0, burst: 5 }, /`rateLimit` must be false, or/],
    ['path', 'ws', /`path` must be a string starting with '\/'/],
    ['hostname', '', /`hostname` must be a non-empty string/],
    [
      'enableCompression',
      'yes',
      /`enableCompression` must be true, false or \{ thresholdBytes, contextTakeover, level, memLevel \}/,
    ],
    ['enableCompression', { level: 10 }, /`enableCompression` must be level a whole number from 1 to 9, got/],
    [
      'enableCompression',
      { threshold: 10 },
      /`enableCompression` must be settings of thresholdBytes, contextTakeover, level, memLevel \(not threshold\)/,
    ],
    ['onDisconnect', 'abort', /`onDisconnect` must be 'continue' or 'cancel', got "abort"/],
    ['logger', 'silent', /`logger` must be a logger: .*consoleLogger\(\{ level \}\); for no logs, silentLogger/],
    ['llm', {}, /`llm` must be a function, got an object/],
    ['allowedOrigins', 'https://a.example', /`allowedOrigins` must be an array of strings/],
    ['tools', [{ name: 'x' }], /`tools` must be an array of tools/],
    ['conversationOptions', { maxHistoryLength: 0 }, /`conversationOptions` must be an object/],
    ['store', {}, /`store` must be a session store/],
    ['server', {}, /`server` must be a node:http Server/],
    ['registry', new Map(), /`registry` must be a prom-client Registry/],
    ['maxSessions', -1, /`maxSessions` must be a whole number of 1 or more/],
    ['sessionMemoryBudgetBytes', 0, /`sessionMemoryBudgetBytes` must be a whole number of 1 or more/],
    ['metricsAuth', 'yes', /`metricsAuth` must be true or false/],
    ['toolTimeout', 'soon', /`toolTimeout` must be a number of milliseconds above 0/],
  ])('refuses %s: %p with invalid_options naming it and what it takes', (name, value, message) => {
    let thrown: unknown;
    try {
      make({ [name]: value })();
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(LLMWSError);
    expect(thrown).toMatchObject({ code: 'invalid_options', message: expect.stringMatching(message) });
  });

  it('refuses options that are not an object', () => {
    expect(() => new WSServer('port=3000' as unknown as WSServerOptions)).toThrow(
      expect.objectContaining({ code: 'invalid_options' }),
    );
  });

  it('takes every option at a valid value, and treats undefined as absent', () => {
    const made = make({
      port: 0,
      hostname: '127.0.0.1',
      path: '/chat',
      maxConnections: 3,
      heartbeatInterval: 0,
      enableCompression: true,
      maxPayload: 2048,
      conversationOptions: { systemPrompt: '', maxHistoryLength: 4 },
      tools: [],
      builtinTools: false,
      maxToolSteps: 2,
      upstreamIdleTimeoutMs: 1000,
      toolTimeoutMs: 1000,
      maxMessageLength: 10,
      sessionTtlMs: 1000,
      maxSessions: 5,
      sessionMemoryBudgetBytes: 4096,
      maxReplyTextBytes: 100,
      maxToolArgumentsBytes: 100,
      replayMaxMessages: 5,
      replayMaxBytes: 1000,
      onDisconnect: 'cancel',
      rateLimit: false,
      highWaterMarkBytes: 10,
      sendBufferHardLimitBytes: 100,
      authenticate: () => 'x',
      allowedOrigins: ['https://a.example'],
      stopRetryAfterMs: 0,
      demoDir: '/tmp',
      upstreamHealthCheck: async () => true,
      registry: new Registry(),
      collectDefaultMetrics: false,
      port_: undefined,
    });
    expect(made).not.toThrow();
  });

  it('warns once about option names no option has, and keeps going', () => {
    const { logger, lines } = recordingLogger();
    new WSServer({ llm: offlineProvider(), logger, heartbeatIntervalMs: 5, maxConections: 3 } as WSServerOptions);
    expect(lines).toEqual([
      expect.objectContaining({
        level: 'warn',
        message: expect.stringMatching(/unknown option\(s\) `heartbeatIntervalMs`, `maxConections`/),
      }),
    ]);
  });

  it('takes a deprecated name as its new one, warning once per process with the new name', async () => {
    const { logger, lines } = recordingLogger();
    /* eslint-disable @typescript-eslint/no-deprecated -- the deprecated names are what this test checks. */
    server = new WSServer({
      llm: offlineProvider(),
      logger,
      port: 0,
      hostname: '127.0.0.1',
      stopRetryAfter: 1234,
      highWaterMark: 1000,
    });
    /* eslint-enable @typescript-eslint/no-deprecated */
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- as above.
    new WSServer({ llm: offlineProvider(), logger, stopRetryAfter: 1 });
    expect(lines.map((line) => line.message)).toEqual([
      expect.stringMatching(/`stopRetryAfter` is deprecated: use `stopRetryAfterMs`/),
      expect.stringMatching(/`highWaterMark` is deprecated: use `highWaterMarkBytes`/),
    ]);
    await server.start();
    const client = await connectTestClient(server.endpoint.url);
    await client.waitFor('session');
    const stopping = server.stop();
    const closing = await client.waitFor('closing');
    expect(closing.data.retryAfterMs).toBe(1234);
    await stopping;
    await client.close();
  });

  it('refuses a deprecated name given beside its new one', () => {
    expect(make({ sessionTtl: 1000, sessionTtlMs: 2000 })).toThrow(
      expect.objectContaining({
        code: 'invalid_options',
        message: expect.stringContaining('give `sessionTtlMs` or its deprecated name `sessionTtl`, not both'),
      }),
    );
  });

  it("refuses transport 'bun' with server, noServer or compression, and an unknown transport", () => {
    const refused = (options: WSServerOptions, message: string): void =>
      expect(make(options)).toThrow(
        expect.objectContaining({ code: 'invalid_options', message: expect.stringContaining(message) }),
      );
    refused({ transport: 'bun', noServer: true }, "transport 'bun' listens with Bun.serve itself");
    refused({ transport: 'bun', enableCompression: true }, "transport 'bun' sends uncompressed frames");
    refused({ transport: 'uws' as 'bun' }, '`transport` must be');
  });

  it("rejects start with transport 'bun' outside Bun, and can start on ws after", async () => {
    server = new WSServer({ ...quiet, transport: 'bun', port: 0, hostname: '127.0.0.1' });
    await expect(server.start()).rejects.toThrow("transport 'bun' needs the Bun runtime");
    expect(server.url).toBeUndefined();
    await server.stop();
  });

  it('logs nothing, not even the offline-model warning, when the constructor throws', () => {
    const saved = { key: process.env.OPENAI_API_KEY, url: process.env.OPENAI_BASE_URL };
    delete process.env.OPENAI_API_KEY;
    delete process.env.OPENAI_BASE_URL;
    const registry = new Registry();
    const first = recordingLogger();
    const second = recordingLogger();
    try {
      new WSServer({ logger: first.logger, registry });
      expect(() => new WSServer({ logger: second.logger, registry, unknownOption: 1 } as WSServerOptions)).toThrow(
        expect.objectContaining({ code: 'metrics_conflict' }),
      );
    } finally {
      if (saved.key !== undefined) process.env.OPENAI_API_KEY = saved.key;
      if (saved.url !== undefined) process.env.OPENAI_BASE_URL = saved.url;
    }
    expect(first.lines).toEqual([
      expect.objectContaining({ level: 'warn', message: expect.stringMatching(/offline demo model/i) }),
    ]);
    expect(second.lines).toEqual([]);
  });
});

describe('WSServer start and endpoint', () => {
  it('refuses a second start with already_started, and starts again after stop', async () => {
    server = new WSServer({ ...quiet, port: 0, hostname: '127.0.0.1' });
    await server.start();
    await expect(server.start()).rejects.toMatchObject({ code: 'already_started' });
    await expect(server.start()).rejects.toBeInstanceOf(LLMWSError);
    await server.stop();
    await server.start();
    expect(server.endpoint.port).toBeGreaterThan(0);
  });

  it('has a typed endpoint once listening, and throws not_started before, after stop and with noServer', async () => {
    server = new WSServer({ ...quiet, port: 0, hostname: '127.0.0.1' });
    expect(() => server!.endpoint).toThrow(expect.objectContaining({ code: 'not_started' }));
    await server.start();
    const { url, port }: { url: string; port: number } = server.endpoint;
    expect(url).toBe(`ws://127.0.0.1:${port}/ws`);
    expect(url).toBe(server.url);
    expect(port).toBe(server.port);
    await server.stop();
    expect(() => server!.endpoint).toThrow(expect.objectContaining({ code: 'not_started' }));
    const detached = new WSServer({ ...quiet, noServer: true });
    await detached.start();
    try {
      expect(() => detached.endpoint).toThrow(expect.objectContaining({ code: 'not_started' }));
    } finally {
      await detached.stop();
    }
  });
});
