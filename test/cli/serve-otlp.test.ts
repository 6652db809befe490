import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createOpenAITestServer, type OpenAITestServer } from '../../src/testing/node';
import { type CliProcess, spawnCli } from '../utils/spawn-cli';
import { connectTestClient, type TestClient, userMessage } from '../utils/ws-test-client';

/** One OTLP/HTTP export request the receiver got. */
interface Received {
  readonly path: string;
  readonly contentType: string;
  readonly body: Buffer;
}

/** A tiny OTLP/HTTP receiver on port 0: records each POST and answers 200 with an empty response. */
async function startReceiver(): Promise<{ server: Server; url: string; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((request: IncomingMessage, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const contentType = request.headers['content-type'] ?? '';
      received.push({ path: request.url ?? '', contentType, body: Buffer.concat(chunks) });
      response.writeHead(200, { 'content-type': contentType });
      response.end(contentType.includes('json') ? '{}' : '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received };
}

/** `llm-ws serve` exporting over OTLP when the standard variables say, to a receiver in the test. */
describe('llm-ws serve with OTLP export', () => {
  let upstream: OpenAITestServer;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let cli: CliProcess | undefined;
  let client: TestClient | undefined;

  beforeEach(async () => {
    upstream = await createOpenAITestServer();
    receiver = await startReceiver();
  });
  afterEach(async () => {
    await client?.close();
    await cli?.stop();
    await upstream.close();
    await new Promise((resolve) => receiver.server.close(resolve));
    client = undefined;
    cli = undefined;
  });

  const chatOnce = async (env: NodeJS.ProcessEnv): Promise<void> => {
    cli = spawnCli(['serve', '--port', '0', '--host', '127.0.0.1', '--model', 'test-model', '--no-process-metrics'], {
      OPENAI_BASE_URL: upstream.baseURL,
      ...env,
    });
    const [, url] = await cli.waitForOutput(/listening on (ws:\/\/\S+)/);
    client = await connectTestClient(url as string);
    await client.waitFor('session');
    upstream.enqueue({ type: 'text', chunks: ['Hello ', 'there'] });
    client.send(userMessage('q1', 'hi'));
    await client.waitFor('llm_complete');
    await client.close();
    client = undefined;
    // SIGTERM: the server stops, and what the exporters hold goes out before the process exits.
    expect(await cli.stop()).toBe(0);
  };

  it('exports traces and metrics as OTLP/HTTP JSON with OTEL_EXPORTER_OTLP_PROTOCOL=http/json', async () => {
    await chatOnce({
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_SERVICE_NAME: 'chat-test',
    });
    expect(cli?.output()).toContain('exporting traces and metrics over OTLP (http/json) as service chat-test');
    const traces = receiver.received.filter((r) => r.path === '/v1/traces');
    expect(traces.length).toBeGreaterThan(0);
    expect(traces[0]?.contentType).toContain('application/json');
    type Attribute = { key: string; value: { stringValue?: string } };
    const payloads = traces.map(
      (r) =>
        JSON.parse(r.body.toString('utf8')) as {
          resourceSpans: Array<{
            resource: { attributes: Attribute[] };
            scopeSpans: Array<{ scope: { name: string }; spans: Array<{ name: string; kind: number }> }>;
          }>;
        },
    );
    const resourceSpans = payloads.flatMap((p) => p.resourceSpans);
    const serviceNames = resourceSpans.map(
      (r) => r.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue,
    );
    expect(new Set(serviceNames)).toEqual(new Set(['chat-test']));
    const spans = resourceSpans.flatMap((r) =>
      r.scopeSpans.flatMap((s) => s.spans.map((span) => [s.scope.name, span.name])),
    );
    expect(spans).toEqual(
      expect.arrayContaining([
        ['llm-ws', 'invoke_agent llm-ws'],
        ['llm-ws', 'chat test-model'],
      ]),
    );
    const metrics = receiver.received.filter((r) => r.path === '/v1/metrics');
    expect(metrics.length).toBeGreaterThan(0);
    const metricNames = metrics.flatMap((r) =>
      (
        JSON.parse(r.body.toString('utf8')) as {
          resourceMetrics: Array<{ scopeMetrics: Array<{ metrics: Array<{ name: string }> }> }>;
        }
      ).resourceMetrics.flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics.map((m) => m.name))),
    );
    expect(metricNames).toEqual(
      expect.arrayContaining([
        'gen_ai.client.operation.duration',
        'gen_ai.client.token.usage',
        'gen_ai.client.operation.time_to_first_chunk',
      ]),
    );
  });

  it('exports as OTLP/HTTP protobuf by default (the spec default protocol)', async () => {
    await chatOnce({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
    const traces = receiver.received.filter((r) => r.path === '/v1/traces');
    expect(traces.length).toBeGreaterThan(0);
    expect(traces[0]?.contentType).toBe('application/x-protobuf');
    // Protobuf carries strings as their UTF-8 bytes: the span names and the default service name are in it.
    const body = Buffer.concat(traces.map((r) => r.body));
    expect(body.includes('invoke_agent llm-ws')).toBe(true);
    expect(body.includes('chat test-model')).toBe(true);
    expect(body.includes('service.name')).toBe(true);
    expect(receiver.received.some((r) => r.path === '/v1/metrics')).toBe(true);
  });

  it('exports nothing without the variables, and refuses a protocol it cannot speak', async () => {
    await chatOnce({});
    expect(cli?.output()).not.toContain('OTLP');
    expect(receiver.received).toEqual([]);
    cli = spawnCli(['serve', '--port', '0', '--host', '127.0.0.1'], {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
    });
    expect(await cli.exited).toBe(2);
    expect(cli.output()).toContain(
      'OTEL_EXPORTER_OTLP_PROTOCOL=grpc is not supported by llm-ws serve: use http/protobuf or http/json',
    );
  });
});
