/**
 * Logging with real pino writing to a stream the test reads, the console default, and loggers
 * without `child`.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { consoleLogger, type Logger } from '../../src/server/logger';
import { WSServer } from '../../src/server/ws-server';
import { useLoopbackServer } from '../utils/loopback-server';
import { connectTestClient, userMessage } from '../utils/ws-test-client';

interface PinoLine {
  level: number;
  msg: string;
  err?: { type: string; message: string; stack: string };
  [field: string]: unknown;
}

/** A pino logger at debug writing JSON lines into memory. */
function pinoInMemory(): { logger: pino.Logger; lines: PinoLine[] } {
  const lines: PinoLine[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as PinoLine);
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, destination), lines };
}

const WARN = 40;
const ERROR = 50;

const loopback = useLoopbackServer();

afterEach(() => {
  jest.restoreAllMocks();
});

describe('with pino', () => {
  it('takes a pino logger as it is (its methods are called on it) and logs the offline model at warn', () => {
    const { logger, lines } = pinoInMemory();
    const saved = { key: process.env.OPENAI_API_KEY, url: process.env.OPENAI_BASE_URL };
    delete process.env.OPENAI_API_KEY;
    delete process.env.OPENAI_BASE_URL;
    try {
      loopback.track(new WSServer({ logger }));
    } finally {
      if (saved.key !== undefined) process.env.OPENAI_API_KEY = saved.key;
      if (saved.url !== undefined) process.env.OPENAI_BASE_URL = saved.url;
    }
    expect(lines).toEqual([
      expect.objectContaining({ level: WARN, msg: expect.stringMatching(/^answering with the offline demo model/i) }),
    ]);
  });

  it('logs a failed model call once, at warn, with the request id, the session id and the error with its stack', async () => {
    const { logger, lines } = pinoInMemory();
    await loopback.start({ logger });
    loopback.upstream.enqueue({ type: 'error', status: 400, message: 'model not found' });
    const client = await loopback.connect();
    client.send(userMessage('req-1', 'hi'));
    const error = await client.waitFor('error');
    expect(error.data).toMatchObject({ code: 'upstream_error', requestId: 'req-1' });

    const failures = lines.filter((line) => line.level >= WARN);
    expect(failures).toEqual([
      expect.objectContaining({
        level: WARN,
        msg: 'model request failed',
        requestId: 'req-1',
        sessionId: client.received[0]?.type === 'session' ? client.received[0].data.sessionId : 'no session message',
        code: 'upstream_error',
        status: 400,
        err: expect.objectContaining({
          type: 'UpstreamError',
          message: expect.stringContaining('model not found'),
          stack: expect.stringContaining('UpstreamError'),
        }),
      }),
    ]);
  });

  it('logs a reply stopped at its size limit once, at warn, without a stack', async () => {
    const { logger, lines } = pinoInMemory();
    await loopback.start({ logger, maxReplyTextBytes: 64 });
    loopback.upstream.enqueue({ type: 'text', chunks: ['x'.repeat(40), 'y'.repeat(40)] });
    const client = await loopback.connect();
    client.send(userMessage('req-big', 'hi'));
    const error = await client.waitFor('error');
    expect(error.data).toMatchObject({ code: 'reply_too_large', requestId: 'req-big', retryable: false });
    expect(lines.filter((line) => line.level >= WARN)).toEqual([
      expect.objectContaining({
        level: WARN,
        msg: 'model reply stopped at a limit',
        requestId: 'req-big',
        code: 'reply_too_large',
      }),
    ]);
    expect(lines.some((line) => line.err !== undefined)).toBe(false);
  });

  it('works through a child logger, whose bindings reach every line', async () => {
    const { logger, lines } = pinoInMemory();
    await loopback.start({ logger: logger.child({ component: 'chat' }) });
    loopback.upstream.enqueue({ type: 'error', status: 500, message: 'boom' });
    const client = await loopback.connect();
    client.send(userMessage('req-2', 'hi'));
    await client.waitFor('error');
    expect(lines.filter((line) => line.level >= WARN)).toEqual([
      expect.objectContaining({
        component: 'chat',
        requestId: 'req-2',
        msg: 'model request failed',
        sessionId: expect.any(String),
      }),
    ]);
  });

  it('logs an authenticate that throws at error with the stack, and refuses that upgrade with 500', async () => {
    const { logger, lines } = pinoInMemory();
    const server = await loopback.start({
      logger,
      authenticate: () => {
        throw new Error('directory service down');
      },
    });
    await expect(connectTestClient(server.url as string)).rejects.toThrow('upgrade refused with HTTP 500');
    expect(lines.filter((line) => line.level >= WARN)).toEqual([
      expect.objectContaining({
        level: ERROR,
        url: '/ws',
        err: expect.objectContaining({
          message: 'directory service down',
          stack: expect.stringContaining('directory service down'),
        }),
      }),
    ]);
  });

  it('fits the Logger type as pino types it', () => {
    const { logger } = pinoInMemory();
    const typed: Logger = logger; // a compile-time check as much as a run-time one
    typed.info({ a: 1 }, 'fields and message');
    typed.info('message only');
    typed.child?.({ b: 2 }).warn('from a child');
  });
});

describe('without pino', () => {
  it('logs to console by default, at info and above, one line per event with the fields and the error', async () => {
    const info = jest.spyOn(console, 'info').mockImplementation(() => undefined);
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    const debug = jest.spyOn(console, 'debug').mockImplementation(() => undefined);
    await loopback.start({ logger: console });
    loopback.upstream.enqueue({ type: 'error', status: 400, message: 'model not found' });
    const client = await loopback.connect();
    client.send(userMessage('req-3', 'hi'));
    await client.waitFor('error');
    expect(warn).toHaveBeenCalledTimes(1);
    const [line, error] = warn.mock.calls[0] as [string, Error];
    expect(line).toMatch(
      /^\[llm-ws\] model request failed sessionId=\S+ requestId=req-3 code=upstream_error status=400$/,
    );
    expect(error.stack).toContain('model not found');
    expect(info).not.toHaveBeenCalled();
    expect(debug).not.toHaveBeenCalled();
  });

  it('consoleLogger filters by level and carries child bindings', () => {
    const calls: unknown[][] = [];
    jest.spyOn(console, 'debug').mockImplementation((...args) => void calls.push(['debug', ...args]));
    jest.spyOn(console, 'info').mockImplementation((...args) => void calls.push(['info', ...args]));
    jest.spyOn(console, 'error').mockImplementation((...args) => void calls.push(['error', ...args]));
    const quiet = consoleLogger({ level: 'error' });
    quiet.info('dropped');
    quiet.error({ err: new Error('x') }, 'kept');
    const verbose = consoleLogger({ level: 'debug' }).child?.({ sessionId: 's 1' });
    verbose?.debug?.('detail');
    consoleLogger({ level: 'silent' }).error('dropped too');
    expect(calls).toEqual([
      ['error', '[llm-ws] kept', expect.any(Error)],
      ['debug', '[llm-ws] detail sessionId="s 1"'],
    ]);
  });

  it('gives a logger without child the session id as a field', async () => {
    const seen: unknown[][] = [];
    const record = (...args: unknown[]): void => void seen.push(args);
    await loopback.start({ logger: { info: record, warn: record, error: record } });
    loopback.upstream.enqueue({ type: 'error', status: 400 });
    const client = await loopback.connect();
    client.send(userMessage('req-4', 'hi'));
    await client.waitFor('error');
    expect(seen).toEqual([
      [
        expect.objectContaining({ sessionId: expect.any(String), requestId: 'req-4', err: expect.any(Error) }),
        'model request failed',
      ],
    ]);
  });
});
