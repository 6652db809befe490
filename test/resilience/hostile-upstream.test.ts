import { readFileSync } from 'node:fs';
import { createOpenAITestServer, type OpenAITestServer, type TestScenario, textScenario } from '../../src/testing/node';
import { type CliProcess, spawnCli } from '../utils/spawn-cli';
import { connectTestClient, type TestClient, userMessage } from '../utils/ws-test-client';
import { withoutIds } from '../utils/history';

/** A process's resident memory now and at its peak, in MB (Linux: /proc). */
function memoryOf(pid: number): { rssMb: number; peakMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
}

/** What the model does, by the user's text: the tests name the misbehaviour they want. */
const hostile: Record<string, TestScenario> = {
  'endless text': { type: 'endless', chunkSize: 4096 },
  'endless arguments': { type: 'endless', toolName: 'calculate', chunkSize: 4096 },
  'one huge chunk': { type: 'text', chunks: ['x'.repeat(50_000_000)] },
  'null data': { type: 'raw', data: ['null'] },
  'rate limited': { type: 'error', status: 429, message: 'slow down', headers: { 'retry-after': '20' } },
};

/**
 * `llm-ws serve` in a child process with default limits, against a model endpoint that
 * misbehaves: the process must survive each misbehaviour, stay within a memory bound, end the
 * reply with a stable error, cancel the model request, and serve a neighbour throughout.
 */
describe('a hostile model endpoint', () => {
  let upstream: OpenAITestServer;
  let cli: CliProcess;
  let url: string;
  let baselineMb: number;
  const clients: TestClient[] = [];

  const connect = async (): Promise<TestClient> => {
    const client = await connectTestClient(url);
    clients.push(client);
    await client.waitFor('session');
    return client;
  };

  /** A neighbour's whole exchange: an echo from the well-behaved model. */
  const neighbourIsServed = async (id: string): Promise<void> => {
    const neighbour = await connect();
    neighbour.send(userMessage(id, `hello ${id}`));
    const complete = await neighbour.waitFor('llm_complete', (m) => m.data.requestId === id, 15_000);
    expect(complete.data.fullText).toBe(`You said: hello ${id}`);
    await neighbour.close();
  };

  beforeAll(async () => {
    upstream = await createOpenAITestServer();
    upstream.respondWith((request) => {
      const messages: Array<{ role: string; content?: string }> = request.body.messages;
      const last = messages[messages.length - 1];
      // After a tool round the model answers in text: the endless arguments were never run.
      if (last?.role === 'user' && last.content && hostile[last.content]) return hostile[last.content] as TestScenario;
      return textScenario(`You said: ${[...messages].reverse().find((m) => m.role === 'user')?.content ?? ''}`);
    });
    cli = spawnCli(['serve', '--port', '0', '--host', '127.0.0.1', '--model', 'test-model'], {
      OPENAI_BASE_URL: upstream.baseURL,
    });
    [, url] = (await cli.waitForOutput(/listening on (ws:\/\/\S+)/)) as unknown as [string, string];
    await neighbourIsServed('warm-up');
    baselineMb = memoryOf(cli.child.pid as number).rssMb;
  }, 30_000);

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
  });

  afterAll(async () => {
    await cli?.stop();
    await upstream?.close();
  });

  /** The process is alive, has printed no crash, and its peak memory stayed within `budgetMb` of its start. */
  const survived = (budgetMb: number): void => {
    expect(cli.child.exitCode).toBeNull();
    expect(cli.output()).not.toMatch(/RangeError|Invalid string length|heap out of memory|Unhandled/i);
    const { peakMb } = memoryOf(cli.child.pid as number);
    if (process.env.LLM_WS_REPORT_MEMORY)
      process.stderr.write(`hostile-upstream: baseline ${baselineMb.toFixed(0)} MB, peak ${peakMb.toFixed(0)} MB\n`);
    expect(peakMb - baselineMb).toBeLessThan(budgetMb);
  };

  it.each([
    ['endless text', 'the text'],
    ['endless arguments', 'the arguments of tool call 0'],
  ])(
    '%s: the reply ends with reply_too_large, the model request is cancelled, a neighbour is served',
    async (what, limit) => {
      const requestsBefore = upstream.requests.length;
      const client = await connect();
      client.send(userMessage('runaway', what));
      const upstreamRequest = await upstream.request(requestsBefore);
      await client.waitFor('status', (m) => m.data.requestId === 'runaway' && m.data.status === 'thinking');
      await neighbourIsServed(`during-${what}`);

      const error = await client.waitFor('error', (m) => m.data.requestId === 'runaway', 30_000);
      expect(error.data).toMatchObject({ code: 'reply_too_large', retryable: false });
      expect(error.data.message).toContain(limit);
      // The model request is closed by the server, not finished by the model (it never finishes).
      await expect(upstreamRequest.ended).resolves.toBe('client_closed');
      await client.waitFor('status', (m) => m.data.requestId === 'runaway' && m.data.status === 'idle');

      // What the client saw stayed under the limit (4 MiB of text by default).
      const text = client
        .forRequest('runaway')
        .flatMap((m) => (m.type === 'llm_chunk' ? [m.data.chunk] : []))
        .join('');
      expect(Buffer.byteLength(text)).toBeLessThanOrEqual(4 * 1024 * 1024);

      // The conversation stays consistent: the user's message, and no runaway text, in history.
      client.send({ type: 'control', id: 'h', data: { type: 'get_history' } });
      const history = await client.waitFor('history', (m) => m.data.requestId === 'h');
      expect(withoutIds(history.data.messages)).toEqual([{ role: 'user', content: what }]);
      await neighbourIsServed(`after-${what}`);
      survived(200);
    },
    60_000,
  );

  it('one 50 MB chunk: refused without holding it whole; the client stays connected and its session goes on', async () => {
    const requestsBefore = upstream.requests.length;
    const client = await connect();
    client.send(userMessage('huge', 'one huge chunk'));
    const upstreamRequest = await upstream.request(requestsBefore);
    await neighbourIsServed('during-huge');
    const error = await client.waitFor('error', (m) => m.data.requestId === 'huge', 30_000);
    expect(error.data).toMatchObject({ code: 'reply_too_large', retryable: false });
    await expect(upstreamRequest.ended).resolves.toBe('client_closed');
    // Not mistaken for a slow reader: the same connection and session answer the next message.
    client.send(userMessage('next', 'and now?'));
    expect((await client.waitFor('llm_complete', (m) => m.data.requestId === 'next', 15_000)).data.fullText).toBe(
      'You said: and now?',
    );
    expect(client.socket.readyState).toBe(client.socket.OPEN);
    survived(200);
  }, 60_000);

  it('data: null gets a readable upstream_error', async () => {
    const client = await connect();
    client.send(userMessage('garbage', 'null data'));
    const error = await client.waitFor('error', (m) => m.data.requestId === 'garbage');
    expect(error.data.code).toBe('upstream_error');
    expect(error.data.message).toBe('the model stream sent an event that is not a chat completion chunk: null');
    await neighbourIsServed('after-null');
    survived(200);
  });

  it('429 with Retry-After: 20 answers rate_limited with retryAfterMs at once, without waiting out the retries', async () => {
    const requestsBefore = upstream.requests.length;
    const client = await connect();
    client.send(userMessage('limited', 'rate limited'));
    const error = await client.waitFor('error', (m) => m.data.requestId === 'limited', 10_000);
    expect(error.data).toMatchObject({ code: 'rate_limited', retryable: true, retryAfterMs: 20_000 });
    // No retry was made: the SDK would have waited 20 s before each.
    expect(upstream.requests.length - requestsBefore).toBe(1);
    await neighbourIsServed('after-429');
    survived(200);
  });
});
