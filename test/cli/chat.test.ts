import { offlineProvider } from '../../src/llm/offline-provider';
import { silentLogger } from '../../src/server/logger';
import { WSServer } from '../../src/server/ws-server';
import { createOpenAITestServer, type OpenAITestServer } from '../../src/testing/node';
import { openAIProvider } from '../../src/llm/openai-provider';
import type { LLMProvider } from '../../src/llm/types';
import { version } from '../../package.json';
import { gate, gatedProvider } from '../utils/gated-provider';
import { type CliProcess, spawnCli, spawnCliInTerminal } from '../utils/spawn-cli';

describe('llm-ws chat', () => {
  let server: WSServer;
  let upstream: OpenAITestServer | undefined;
  let cli: CliProcess | undefined;

  /** A server answering from the OpenAI-compatible test server (it echoes the last user message); its URL. */
  async function startEchoServer(): Promise<string> {
    upstream = await createOpenAITestServer();
    server = new WSServer({
      port: 0,
      hostname: '127.0.0.1',
      logger: silentLogger,
      llm: openAIProvider({ baseURL: upstream.baseURL, apiKey: 'k', maxRetries: 0 }),
    });
    await server.start();
    return server.url as string;
  }

  afterEach(async () => {
    await cli?.stop();
    await server?.stop();
    server = undefined as unknown as WSServer;
    await upstream?.close();
    cli = undefined;
    upstream = undefined;
  });

  it("prints the reply's token usage on stderr with --usage, leaving stdout the answer", async () => {
    upstream = await createOpenAITestServer();
    upstream.enqueue({ type: 'text', chunks: ['Hi ', 'there'], cachedTokens: 1 });
    server = new WSServer({
      port: 0,
      hostname: '127.0.0.1',
      logger: silentLogger,
      llm: openAIProvider({ baseURL: upstream.baseURL, apiKey: 'k', model: 'm' }),
    });
    await server.start();
    cli = spawnCli(['chat', '--url', server.url as string, '--usage', 'hi']);
    expect(await cli.exited).toBe(0);
    expect(cli.stdout()).toBe('Hi there\n');
    expect(cli.output()).toMatch(/Hi there\n\[usage\] \d+ in \(1 cached\), 2 out\n$/);
  });

  it('answers one question with only the answer on stdout (tool lines on stderr), and exits 0', async () => {
    server = new WSServer({
      port: 0,
      hostname: '127.0.0.1',
      logger: silentLogger,
      llm: offlineProvider({ chunkDelayMs: 0 }),
    });
    await server.start();
    cli = spawnCli(['chat', '--url', server.url as string, 'what is 2+3*4?']);
    expect(await cli.exited).toBe(0);
    expect(cli.stdout()).toBe('2+3*4 = 14\n');
    expect(cli.output()).toBe(
      '[tool] calculate({"expression":"2+3*4"})\n[result] calculate → {"expression":"2+3*4","result":14}\n2+3*4 = 14\n',
    );
  });

  it('prints its version from package.json with --version', async () => {
    cli = spawnCli(['--version']);
    expect(await cli.exited).toBe(0);
    expect(cli.stdout()).toBe(`${version}\n`);
  });

  it('exits 1 with the reason when no server answers', async () => {
    server = new WSServer({ port: 0, hostname: '127.0.0.1', logger: silentLogger, llm: offlineProvider() });
    await server.start();
    const url = server.url as string;
    await server.stop();
    cli = spawnCli(['chat', '--url', url, 'hello?']);
    expect(await cli.exited).toBe(1);
    expect(cli.output()).toMatch(/llm-ws: reconnect_failed: gave up after 2 reconnect attempts: connection lost/);
  });

  it('holds a conversation: streams replies, maps /history and /clear, aborts on Ctrl-C, quits on the second', async () => {
    upstream = await createOpenAITestServer();
    server = new WSServer({
      port: 0,
      hostname: '127.0.0.1',
      logger: silentLogger,
      llm: openAIProvider({ baseURL: upstream.baseURL, apiKey: 'k', maxRetries: 0 }),
    });
    await server.start();
    cli = spawnCli(['chat', '--url', server.url as string]);
    await cli.waitForOutput(/\[connected to .*session [\w-]+\]/);
    cli.type('hello');
    await cli.waitForOutput(/You said: hello\n/);
    cli.type('/history');
    await cli.waitForOutput(/user: hello\nassistant: You said: hello\n/);
    cli.type('/clear');
    await cli.waitForOutput(/history cleared/);
    upstream.enqueue({ type: 'stall', chunks: ['Once upon a time'] });
    cli.type('a long story');
    await cli.waitForOutput(/Once upon a time/);
    cli.child.kill('SIGINT');
    await cli.waitForOutput(/\[aborted\]/);
    await expect(upstream.requests[upstream.requests.length - 1]?.ended).resolves.toBe('client_closed');
    cli.child.kill('SIGINT');
    expect(await cli.exited).toBe(0);
  });

  it("prints a failed reply's error once, then carries on", async () => {
    upstream = await createOpenAITestServer();
    server = new WSServer({
      port: 0,
      hostname: '127.0.0.1',
      logger: silentLogger,
      llm: openAIProvider({ baseURL: upstream.baseURL, apiKey: 'k', maxRetries: 0 }),
    });
    await server.start();
    cli = spawnCli(['chat', '--url', server.url as string]);
    await cli.waitForOutput(/\[connected to .*session [\w-]+\]/);
    upstream.enqueue({ type: 'error', status: 400, message: 'the model refused' });
    cli.type('hello');
    await cli.waitForOutput(/\[upstream_error[^\n]*\]\n/);
    cli.type('again');
    await cli.waitForOutput(/You said: again\n/);
    expect(cli.output().match(/\[upstream_error/g)).toHaveLength(1);
    cli.child.stdin?.end();
    expect(await cli.exited).toBe(0);
  });

  it('reaches a server started with --auth-token only with --token', async () => {
    const serve = spawnCli(['serve', '--port', '0', '--host', '127.0.0.1', '--auth-token', 'opensesame']);
    try {
      const [, url] = await serve.waitForOutput(/listening on (ws:\/\/\S+)/);
      expect(serve.output()).toContain('clients must present the auth token');
      cli = spawnCli(['chat', '--url', url as string, 'what is 1+1?']);
      expect(await cli.exited).toBe(1);
      expect(cli.output()).toMatch(
        /llm-ws: connection_refused: the server refused the connection \(the socket failed: Unexpected server response: 401\)/,
      );
      cli = spawnCli(['chat', '--url', url as string, '--token', 'opensesame', 'what is 1+1?']);
      expect(await cli.exited).toBe(0);
      expect(cli.output()).toContain('1+1 = 2');
    } finally {
      await serve.stop();
    }
  });

  it('takes piped lines in turn, each after the reply before it, and exits 0 at the end of its input', async () => {
    cli = spawnCli(['chat', '--url', await startEchoServer()]);
    cli.child.stdin?.end('first question\nsecond question\n/history\n');
    expect(await cli.exited).toBe(0);
    expect(cli.stdout()).toMatch(
      /You said: first question\n.*You said: second question\n.*user: first question\nassistant: You said: first question\nuser: second question\nassistant: You said: second question\n/s,
    );
    expect(cli.output()).not.toMatch(/giving up|still streaming/);
  }, 60_000);

  it('/regenerate answers the last message again and /edit replaces it, each as a branch /history shows', async () => {
    cli = spawnCli(['chat', '--url', await startEchoServer()]);
    cli.child.stdin?.end('first question\n/regenerate\n/edit changed question\n/history\n');
    expect(await cli.exited).toBe(0);
    expect(cli.stdout()).toMatch(
      /You said: first question\n.*You said: first question\n.*You said: changed question\n.*user \(2\/2\): changed question\nassistant: You said: changed question\n/s,
    );
    expect(upstream?.requests.map((request) => request.body.messages.at(-1).content)).toEqual([
      'first question',
      'first question',
      'changed question',
    ]);
  }, 60_000);

  it('quits on a piped /quit while its input stays open, quietly and with 0, also before the greeting', async () => {
    server = new WSServer({ port: 0, hostname: '127.0.0.1', logger: silentLogger, llm: offlineProvider() });
    await server.start();
    cli = spawnCli(['chat', '--url', server.url as string]);
    cli.child.stdin?.write('/quit\n'); // and the pipe is left open: only the command may end the process
    expect(await cli.exited).toBe(0);
    expect(cli.output()).not.toMatch(/disconnect/);
  }, 60_000);

  it('asks y/n on stderr for a tool call that waits for approval in a one-shot answer, reading the answer from stdin', async () => {
    upstream = await createOpenAITestServer();
    upstream.enqueue(
      { type: 'tool_calls', calls: [{ id: 'c1', name: 'calculate', arguments: { expression: '6*7' } }] },
      { type: 'text', chunks: ['42'] },
    );
    server = new WSServer({
      port: 0,
      hostname: '127.0.0.1',
      logger: silentLogger,
      requireApproval: ['calculate'],
      llm: openAIProvider({ baseURL: upstream.baseURL, apiKey: 'k', maxRetries: 0 }),
    });
    await server.start();
    cli = spawnCli(['chat', '--url', server.url as string, 'what is 6*7?']);
    await cli.waitForOutput(/\[approve\] calculate\(\{"expression":"6\*7"\}\)\? y\/n/);
    cli.type('y');
    expect(await cli.exited).toBe(0);
    expect(cli.stdout()).toBe('42\n');
    expect(cli.output()).toMatch(
      /\[tool\] calculate\(\{"expression":"6\*7"\}\)\n\[result\] calculate → \{"expression":"6\*7","result":42\}/,
    );
  });

  /** A server whose model calls calculate(6*7) once, which needs approval, then answers 42. */
  async function approvalServer(approvalTimeoutMs = 120_000) {
    upstream = await createOpenAITestServer();
    upstream.enqueue(
      { type: 'tool_calls', calls: [{ id: 'c1', name: 'calculate', arguments: { expression: '6*7' } }] },
      { type: 'text', chunks: ['42'] },
    );
    server = new WSServer({
      port: 0,
      hostname: '127.0.0.1',
      logger: silentLogger,
      requireApproval: ['calculate'],
      approvalTimeoutMs,
      llm: openAIProvider({ baseURL: upstream.baseURL, apiKey: 'k', maxRetries: 0 }),
    });
    await server.start();
    return server.url as string;
  }

  const stderrOf = (process: CliProcess): (() => string) => {
    let text = '';
    process.child.stderr?.on('data', (data: Buffer) => (text += data.toString()));
    return () => text;
  };

  it('keeps stdout the answer alone when reasoning comes first, and ends the reasoning on stderr with a newline', async () => {
    upstream = await createOpenAITestServer();
    upstream.enqueue({ type: 'text', reasoning: ['Let me ', 'think.'], chunks: ['Hi', ' there'] });
    server = new WSServer({
      port: 0,
      hostname: '127.0.0.1',
      logger: silentLogger,
      llm: openAIProvider({ baseURL: upstream.baseURL, apiKey: 'k', maxRetries: 0 }),
    });
    await server.start();
    cli = spawnCli(['chat', '--url', server.url as string, 'hello']);
    const stderr = stderrOf(cli);
    expect(await cli.exited).toBe(0);
    expect(cli.stdout()).toBe('Hi there\n');
    expect(stderr()).toBe('Let me think.\n');
  });

  it('asks again in a one-shot answer when the answer is neither y nor n', async () => {
    cli = spawnCli(['chat', '--url', await approvalServer(), 'what is 6*7?']);
    cli.child.stdin?.end('maybe\ny\n');
    expect(await cli.exited).toBe(0);
    expect(cli.stdout()).toBe('42\n');
    expect(cli.output()).toMatch(
      /please answer y or n: \[approve\] calculate\(\{"expression":"6\*7"\}\)\? y\/n \[tool\] calculate/,
    );
  });

  it('declines at once a call waiting for approval once piped input has ended, rather than waiting approvalTimeoutMs', async () => {
    cli = spawnCli(['chat', '--url', await approvalServer()]);
    cli.child.stdin?.end('what is 6*7?\n');
    // Well inside approvalTimeoutMs (120 s): the jest timeout below fails the test otherwise.
    expect(await cli.exited).toBe(0);
    expect(cli.output()).toMatch(/\[denied\] calculate: no input left to answer in llm-ws chat\n/);
    expect(cli.stdout()).toMatch(/42\n/);
  }, 20_000);

  it('asks again with piped input when a line is neither y nor n, and takes the next line as the answer', async () => {
    cli = spawnCli(['chat', '--url', await approvalServer()]);
    cli.child.stdin?.end('what is 6*7?\nmaybe\ny\n');
    expect(await cli.exited).toBe(0);
    expect(cli.output()).toMatch(/please answer y or n\n/);
    expect(cli.output()).toMatch(/\[result\] calculate → \{"expression":"6\*7","result":42\}\n42\n/);
  }, 20_000);

  describe('in a terminal', () => {
    async function startChat(llm?: LLMProvider, options: Partial<ConstructorParameters<typeof WSServer>[0]> = {}) {
      upstream ??= await createOpenAITestServer();
      server = new WSServer({
        port: 0,
        hostname: '127.0.0.1',
        logger: silentLogger,
        llm: llm ?? openAIProvider({ baseURL: upstream.baseURL, apiKey: 'k', maxRetries: 0 }),
        ...options,
      });
      await server.start();
      cli = spawnCliInTerminal(['chat', '--url', server.url as string]);
      await cli.waitForOutput(/\[connected to .*session [\w-]+\]/);
      await cli.waitForOutput(/> $/);
      return cli;
    }

    it('lists its commands on /help, refuses an unknown /command without sending it, and quits quietly', async () => {
      const chat = await startChat();
      chat.type('/help\r');
      await chat.waitForOutput(/\/quit/);
      expect(chat.output()).toMatch(
        /\/help .*\n.*\/history .*\n.*\/regenerate .*\n.*\/edit TEXT .*\n.*\/list .*\n.*\/open ID .*\n.*\/rename TITLE .*\n.*\/delete ID .*\n.*\/clear .*\n.*\/quit /,
      );
      chat.type('/foo\r');
      await chat.waitForOutput(/unknown command \/foo/);
      chat.type('//etc is a folder\r');
      await chat.waitForOutput(/You said: \/etc is a folder/);
      expect(upstream?.requests.map((request) => request.body.messages.at(-1).content)).toEqual(['/etc is a folder']);
      // One prompt after each command: readline's redraws while the line is replaced stay hidden.
      expect(chat.output()).not.toMatch(/> > /);
      chat.type('/quit\r');
      expect(await chat.exited).toBe(0);
      expect(chat.output()).not.toMatch(/giving up|disconnected/);
    }, 60_000);

    it('keeps what is typed during a reply out of it, and offers it at the next prompt', async () => {
      upstream = await createOpenAITestServer();
      upstream.enqueue({ type: 'text', chunks: ['first ', 'second ', 'third'] });
      const second = gate();
      const { provider } = gatedProvider(upstream, { 1: second.promise });
      const chat = await startChat(provider);
      // One write: the keys after the first Enter reach the chat while its reply runs (the gate holds it).
      chat.type('tell me\rand then?\rmore');
      await chat.waitForOutput(/first $/);
      second.open();
      await chat.waitForOutput(/> and then\? more$/);
      expect(chat.output()).toMatch(/> tell me\nfirst second third\n\[usage\] [^\n]*\n> and then\? more$/);
      chat.type('\r');
      await chat.waitForOutput(/You said: and then\? more/);
      expect(upstream.requests.map((request) => request.body.messages.at(-1).content)).toEqual([
        'tell me',
        'and then? more',
      ]);
      chat.type('\x04'); // Ctrl-D on an empty line leaves, as in a shell
      expect(await chat.exited).toBe(0);
      expect(chat.output()).not.toMatch(/giving up/);
    }, 60_000);

    it('asks y/n for each tool call waiting for approval: y runs it, n denies it', async () => {
      upstream = await createOpenAITestServer();
      const calc = (id: string, expression: string) => ({
        type: 'tool_calls' as const,
        calls: [{ id, name: 'calculate', arguments: { expression } }],
      });
      upstream.enqueue(calc('c1', '2+2'), { type: 'text', chunks: ['Four.'] }, calc('c2', '3+3'), {
        type: 'text',
        chunks: ['As you wish.'],
      });
      const chat = await startChat(undefined, { requireApproval: ['calculate'] });
      chat.type('add\r');
      await chat.waitForOutput(/\[approve\] calculate\(\{"expression":"2\+2"\}\)\? y\/n\n$/);
      chat.type('y\r');
      await chat.waitForOutput(/Four\.\n\[usage\] [^\n]*\n> $/);
      expect(chat.output()).toMatch(
        /y\n\[tool\] calculate\(\{"expression":"2\+2"\}\)\n\[result\] calculate → \{"expression":"2\+2","result":4\}\nFour\./,
      );
      chat.type('again\r');
      await chat.waitForOutput(/\[approve\] calculate\(\{"expression":"3\+3"\}\)\? y\/n\n$/);
      chat.type('n\r');
      await chat.waitForOutput(/As you wish\.\n\[usage\] [^\n]*\n> $/);
      expect(chat.output()).toMatch(
        /n\n\[denied\] calculate: declined in llm-ws chat\n\[tool error\] calculate: the user declined to run calculate: declined in llm-ws chat\nAs you wish\./,
      );
      chat.type('/quit\r');
      expect(await chat.exited).toBe(0);
    }, 60_000);

    it("shows the model's reasoning dimmed, on its own lines before the answer", async () => {
      upstream = await createOpenAITestServer();
      upstream.enqueue({ type: 'text', reasoning: ['Let me ', 'think.'], chunks: ['Hi', ' there'] });
      const chat = await startChat();
      chat.type('hello\r');
      await chat.waitForOutput(/Hi there\n\[usage\] [^\n]*\n> $/);
      expect(chat.output()).toMatch(/> hello\nLet me think\.\nHi there\n/);
      expect(chat.stdout()).toContain('\x1b[2mLet me \x1b[22m\x1b[2mthink.\x1b[22m');
      chat.type('/quit\r');
      expect(await chat.exited).toBe(0);
    }, 60_000);

    it('keeps what was typed when Ctrl-C aborts the reply', async () => {
      upstream = await createOpenAITestServer();
      upstream.enqueue({ type: 'stall', chunks: ['Once upon a time'] });
      const chat = await startChat();
      chat.type('a long story\r');
      await chat.waitForOutput(/Once upon a time/);
      chat.type('shorter please');
      chat.type('\x03');
      await chat.waitForOutput(/\[aborted\]\n> shorter please$/);
      expect(chat.output()).toMatch(/Once upon a time\n\[aborted\]\n> shorter please$/);
      chat.type('\x03'); // a second Ctrl-C quits (the typed text goes with it)
      expect(await chat.exited).toBe(0);
    }, 60_000);
  });
});
