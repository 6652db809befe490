import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createOpenAITestServer, type OpenAITestServer } from '../../src/testing/node';
import { type CliProcess, spawnCli } from '../utils/spawn-cli';
import { connectTestClient, control, type TestClient, userMessage } from '../utils/ws-test-client';

/** `llm-ws serve` as a user runs it, driven by a plain ws client: the issue's "done when". */
describe('llm-ws serve', () => {
  let upstream: OpenAITestServer;
  let cli: CliProcess | undefined;
  let client: TestClient | undefined;

  beforeEach(async () => {
    upstream = await createOpenAITestServer();
  });
  afterEach(async () => {
    await client?.close();
    await cli?.stop();
    await upstream.close();
    client = undefined;
    cli = undefined;
  });

  it('serves a model at OPENAI_BASE_URL: streaming, both tools, history, abort, upstream errors; stops on SIGTERM', async () => {
    cli = spawnCli(
      ['serve', '--port', '0', '--host', '127.0.0.1', '--model', 'test-model', '--system-prompt', 'Be brief.'],
      {
        OPENAI_BASE_URL: upstream.baseURL,
      },
    );
    const [, url] = await cli.waitForOutput(/listening on (ws:\/\/\S+)/);
    expect(cli.output()).toContain(`answering with model test-model at ${upstream.baseURL}`);
    client = await connectTestClient(url as string);
    await client.waitFor('session');

    // A streamed reply.
    upstream.enqueue({ type: 'text', chunks: ['Hello ', 'there'], delayMs: 5 });
    client.send(userMessage('q1', 'hi'));
    expect((await client.waitFor('llm_complete', (m) => m.data.requestId === 'q1')).data.fullText).toBe('Hello there');
    expect(upstream.requests[0]?.body).toMatchObject({
      model: 'test-model',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'hi' },
      ],
    });

    // A tool round trip through both built-in tools.
    upstream.enqueue(
      {
        type: 'tool_calls',
        calls: [
          { name: 'calculate', arguments: { expression: '2+3*4' } },
          { name: 'get_current_time', arguments: {} },
        ],
      },
      { type: 'text', chunks: ['It is 14.'] },
    );
    client.send(userMessage('q2', 'sum and time?'));
    await client.waitFor('llm_complete', (m) => m.data.requestId === 'q2');
    const results = client.forRequest('q2').filter((m) => m.type === 'tool_result');
    expect(results.map((m) => m.data)).toEqual([
      expect.objectContaining({ toolName: 'calculate', result: { expression: '2+3*4', result: 14 } }),
      expect.objectContaining({
        toolName: 'get_current_time',
        result: expect.objectContaining({ iso: expect.any(String) }),
      }),
    ]);

    // History controls.
    client.send(control('h1', 'get_history'));
    expect((await client.waitFor('history', (m) => m.data.requestId === 'h1')).data.messages).toHaveLength(7);
    client.send(control('h2', 'clear_history'));
    expect((await client.waitFor('history', (m) => m.data.requestId === 'h2')).data.messages).toEqual([]);

    // Abort cancels the upstream request for real.
    upstream.enqueue({ type: 'stall', chunks: ['Long '] });
    client.send(userMessage('q3', 'story'));
    await client.waitFor('llm_chunk', (m) => m.data.requestId === 'q3' && m.data.chunk === 'Long ');
    client.send(control('a1', 'abort'));
    expect((await client.waitFor('llm_complete', (m) => m.data.requestId === 'q3')).data.finishReason).toBe('aborted');
    const stalled = upstream.requests[upstream.requests.length - 1];
    await expect(stalled?.ended).resolves.toBe('client_closed');

    // An upstream 500 (after the SDK's retries) becomes an error message.
    const failure = {
      type: 'error',
      status: 500,
      message: 'upstream is down',
      headers: { 'retry-after-ms': '1' },
    } as const;
    upstream.enqueue(failure, failure, failure);
    client.send(userMessage('q4', 'hi'));
    const error = await client.waitFor('error', (m) => m.data.requestId === 'q4');
    expect(error.data).toMatchObject({ code: 'upstream_error', retryable: true });
    // Logged once (not once per SDK retry), at warn, with the request id.
    await cli.waitForOutput(/model request failed .*requestId=q4/);
    expect(cli.output().match(/model request failed/g)).toHaveLength(1);
    const metrics = await (
      await fetch(`${(url as string).replace(/^ws/, 'http').replace(/\/ws$/, '')}/metrics`)
    ).text();
    expect(metrics).toMatch(/^process_cpu_user_seconds_total /m);
    expect(metrics).toMatch(/^llm_ws_open_connections 1$/m);

    expect(await cli.stop()).toBe(0);
    expect(cli.output()).toContain('SIGTERM received');
    expect((await client.closed).code).toBe(1001);
  });

  it('asks /metrics for the auth token and tells /health without it only that the server is up; --no-metrics-auth opens them', async () => {
    cli = spawnCli(['serve', '--port', '0', '--host', '127.0.0.1', '--auth-token', 's3cret']);
    const [, port] = await cli.waitForOutput(/listening on ws:\/\/[^:]+:(\d+)/);
    expect(cli.output()).toContain('/metrics needs the token too');
    const base = `http://127.0.0.1:${port}`;
    expect((await fetch(`${base}/metrics`)).status).toBe(401);
    expect((await fetch(`${base}/metrics`, { headers: { authorization: 'Bearer s3cret' } })).status).toBe(200);
    expect(await (await fetch(`${base}/health`)).json()).toEqual({ status: 'ok' });
    await cli.stop();

    cli = spawnCli(['serve', '--port', '0', '--host', '127.0.0.1', '--auth-token', 's3cret', '--no-metrics-auth']);
    const [, openPort] = await cli.waitForOutput(/listening on ws:\/\/[^:]+:(\d+)/);
    expect((await fetch(`http://127.0.0.1:${openPort}/metrics`)).status).toBe(200);
    expect(await (await fetch(`http://127.0.0.1:${openPort}/health`)).json()).toMatchObject({ connections: 0 });
  });

  it("--auth-tokens-file names users: each token gets its own principal, and one user cannot resume another's session", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'llm-ws-tokens-'));
    const file = join(dir, 'tokens');
    writeFileSync(file, '# token principal\nalice-s3cret alice\n\n\tbob-s3cret\tbob\n');
    try {
      cli = spawnCli([
        'serve',
        '--port',
        '0',
        '--host',
        '127.0.0.1',
        '--auth-tokens-file',
        file,
        '--auth-token',
        'ops',
      ]);
      const [, url] = await cli.waitForOutput(/listening on (ws:\/\/\S+)/);
      expect(cli.output()).toContain(`clients must present a token of ${file} or the auth token`);
      const as = async (token: string) => {
        const connected = await connectTestClient(`${url as string}?token=${token}`);
        await connected.waitFor('session');
        return connected;
      };
      const alice = await as('alice-s3cret');
      client = alice;
      const { sessionId, resumeToken } = (await alice.waitFor('session')).data;
      for (const other of ['bob-s3cret', 'ops']) {
        const intruder = await as(other);
        intruder.send({ type: 'resume', id: 'r1', data: { sessionId, resumeToken, lastSeq: 0, share: true } });
        expect(await intruder.closed).toEqual({ code: 4403, reason: 'the session belongs to another principal' });
      }
      await expect(connectTestClient(`${url as string}?token=nobody`)).rejects.toThrow(/HTTP 401/);
      const again = await as('alice-s3cret');
      again.send({ type: 'resume', id: 'r2', data: { sessionId, resumeToken, lastSeq: 0, share: true } });
      expect((await again.waitFor('session', (m) => m.data.resumed === true)).data.sessionId).toBe(sessionId);
      await again.close();
      await cli.stop();

      // A line without a principal stops the server before it listens, naming the line.
      writeFileSync(file, 'alice-s3cret alice\nbob-s3cret\n');
      cli = spawnCli(['serve', '--port', '0', '--host', '127.0.0.1', '--auth-tokens-file', file]);
      expect(await cli.exited).toBe(2);
      expect(cli.output()).toContain(`${file}, line 2: expected "token principal", got a token alone`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says plainly that the offline demo model answers when no endpoint is configured, and it works', async () => {
    cli = spawnCli(['serve', '--port', '0', '--host', '127.0.0.1']);
    const [, url] = await cli.waitForOutput(/listening on (ws:\/\/\S+)/);
    expect(cli.output()).toMatch(/OFFLINE DEMO model/);
    client = await connectTestClient(url as string);
    client.send(userMessage('q1', 'what is 2+3*4?'));
    const done = await client.waitFor('llm_complete');
    expect(done.data.fullText).toBe('2+3*4 = 14');
  });

  it('passes the reply limits and the session budget on to the server', async () => {
    cli = spawnCli(
      ['serve', '--port', '0', '--host', '127.0.0.1', '--max-reply-text-bytes', '1000', '--max-sessions', '1'],
      {
        OPENAI_BASE_URL: upstream.baseURL,
      },
    );
    const [, url] = await cli.waitForOutput(/listening on (ws:\/\/\S+)/);
    client = await connectTestClient(url as string);
    await client.waitFor('session');
    upstream.enqueue({ type: 'text', chunks: ['x'.repeat(600), 'y'.repeat(600)] });
    client.send(userMessage('long', 'go on'));
    expect((await client.waitFor('error', (m) => m.data.requestId === 'long')).data).toMatchObject({
      code: 'reply_too_large',
      retryable: false,
    });
    const second = await connectTestClient(url as string);
    expect(await second.closed).toEqual({ code: 1013, reason: 'server at its session budget: try again later' });
  });

  it('--log-level error leaves warnings out of the log; --no-process-metrics leaves process metrics out of /metrics', async () => {
    cli = spawnCli(['serve', '--port', '0', '--host', '127.0.0.1', '--log-level', 'error', '--no-process-metrics'], {
      OPENAI_BASE_URL: upstream.baseURL,
    });
    const [, url] = await cli.waitForOutput(/listening on (ws:\/\/\S+)/);
    client = await connectTestClient(url as string);
    upstream.enqueue({ type: 'error', status: 400, message: 'no such model' });
    client.send(userMessage('q1', 'hi'));
    await client.waitFor('error');
    const metrics = await (
      await fetch(`${(url as string).replace(/^ws/, 'http').replace(/\/ws$/, '')}/metrics`)
    ).text();
    expect(metrics).toMatch(/^llm_ws_errors_total\{code="upstream_error"\} 1$/m);
    expect(metrics).not.toMatch(/^process_/m);
    expect(cli.output()).not.toContain('model request failed');
  });

  it.each([
    [['--compression'], 'permessage-deflate; server_no_context_takeover; client_no_context_takeover'],
    [['--compression-context-takeover'], 'permessage-deflate'],
    [[], undefined],
  ])('%j: the permessage-deflate a client is offered', async (flags, negotiated) => {
    cli = spawnCli(['serve', '--port', '0', '--host', '127.0.0.1', ...flags], { OPENAI_BASE_URL: upstream.baseURL });
    const [, url] = await cli.waitForOutput(/listening on (ws:\/\/\S+)/);
    client = await connectTestClient(url as string, { perMessageDeflate: true });
    expect(client.upgradeHeaders['sec-websocket-extensions']).toBe(negotiated);
  });

  it('--require-approval makes the named tools wait for the user, --keep-reasoning keeps the reasoning; an unknown tool name is refused', async () => {
    cli = spawnCli(
      [
        'serve',
        '--port',
        '0',
        '--host',
        '127.0.0.1',
        '--require-approval',
        'calculate',
        '--approval-timeout',
        '30',
        '--keep-reasoning',
      ],
      {
        OPENAI_BASE_URL: upstream.baseURL,
      },
    );
    const [, url] = await cli.waitForOutput(/listening on (ws:\/\/\S+)/);
    client = await connectTestClient(url as string);
    await client.waitFor('session');
    upstream.enqueue(
      {
        type: 'tool_calls',
        reasoning: ['Use the calculator.'],
        calls: [{ id: 'c1', name: 'calculate', arguments: { expression: '6*7' } }],
      },
      { type: 'text', chunks: ['42'] },
    );
    client.send(userMessage('q1', '6*7?'));
    const asked = await client.waitFor('tool_call', (m) => m.data.status === 'approval_required');
    expect(asked.data).toMatchObject({ toolName: 'calculate', timeoutMs: 30_000 });
    client.send({ type: 'tool_approval', id: 'a1', data: { toolCallId: 'c1', approved: true } });
    expect((await client.waitFor('llm_complete')).data.fullText).toBe('42');
    client.send(control('h1', 'get_history'));
    const history = (await client.waitFor('history', (m) => m.data.requestId === 'h1')).data.messages;
    expect(history[1]).toMatchObject({ role: 'assistant', reasoning: 'Use the calculator.' });
    await client.close();
    await cli.stop();

    cli = spawnCli(['serve', '--require-approval', 'send_mail']);
    expect(await cli.exited).not.toBe(0);
    expect(cli.output()).toMatch(/requireApproval.*names no tool: send_mail/);
  });

  it('refuses a bad option with a message and exit code 1', async () => {
    cli = spawnCli(['serve', '--max-connections', 'lots']);
    expect(await cli.exited).toBe(1);
    expect(cli.output()).toMatch(
      /--max-connections <n>' argument 'lots' is invalid. expected a whole number of 1 or more/,
    );
  });

  it('refuses a Redis URL that is not one, from the flag or from REDIS_URL', async () => {
    cli = spawnCli(['serve', '--redis-url', 'http://127.0.0.1:6379']);
    expect(await cli.exited).toBe(1);
    expect(cli.output()).toMatch(
      /--redis-url <url>' argument 'http:\/\/127.0.0.1:6379' is invalid. expected a redis:\/\/ or rediss:\/\/ URL/,
    );
    cli = spawnCli(['serve'], { REDIS_URL: 'not a url' });
    expect(await cli.exited).toBe(2);
    expect(cli.output()).toContain('REDIS_URL: expected a URL such as redis://127.0.0.1:6379, got "not a url"');
  });
});
