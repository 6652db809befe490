import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { type DataPoint, type Histogram, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { WSClient } from '../../src/client/node';
import { otelTelemetry, type OtelTelemetryOptions } from '../../src/otel';
import { defineTool } from '../../src/tools/types';
import { useLoopbackServer } from '../utils/loopback-server';
import { userMessage } from '../utils/ws-test-client';

/**
 * OpenTelemetry interop over real sockets: the SDK's in-memory exporter and a metric reader
 * collect what a WSServer with `otelTelemetry()` emits while a client chats with it, the model
 * being the OpenAI-compatible test server.
 */
const loopback = useLoopbackServer();

/** A reader the test collects from when it wants. */
class TestReader extends MetricReader {
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

let exporter: InMemorySpanExporter;
let tracerProvider: TracerProvider;
let reader: TestReader;
let meterProvider: MeterProvider;
beforeEach(() => {
  exporter = new InMemorySpanExporter();
  tracerProvider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  reader = new TestReader();
  meterProvider = new MeterProvider({ readers: [reader] });
});
afterEach(async () => {
  await tracerProvider.shutdown();
  await meterProvider.shutdown();
});

const echo = defineTool({
  name: 'echo',
  description: 'Echoes its input',
  parameters: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
  execute: (args: { text: string }) => args.text,
});

const start = (options: OtelTelemetryOptions = {}) =>
  loopback.start({ tools: [echo], telemetry: otelTelemetry({ tracerProvider, meterProvider, ...options }) });

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CLIENT_SPAN_ID = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE_ID}-${CLIENT_SPAN_ID}-01`;

const spansNamed = (prefix: string): ReadableSpan[] =>
  exporter.getFinishedSpans().filter((span) => span.name.startsWith(prefix));
const only = (prefix: string): ReadableSpan => {
  const spans = spansNamed(prefix);
  if (spans.length !== 1) throw new Error(`expected one ${prefix} span, got ${spans.length}`);
  return spans[0] as ReadableSpan;
};

/** Waits until the reply span has ended (it ends once the reply's last frame went out). */
async function replySpan(): Promise<ReadableSpan> {
  for (let i = 0; i < 200 && spansNamed('invoke_agent').length === 0; i++) await new Promise((r) => setImmediate(r));
  return only('invoke_agent');
}

const toolLoop = () =>
  loopback.upstream.enqueue(
    { type: 'tool_calls', cachedTokens: 1, calls: [{ id: 'call_1', name: 'echo', arguments: { text: 'x' } }] },
    { type: 'text', chunks: ['All ', 'done.'] },
  );

/** The data points of metric `name` at the last collection. */
async function pointsOf(name: string): Promise<DataPoint<unknown>[]> {
  const { resourceMetrics } = await reader.collect();
  const found = resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics).find((m) => m.descriptor.name === name);
  return found?.dataPoints ?? [];
}

const mail = defineTool({
  name: 'send_mail',
  description: 'Sends an e-mail',
  parameters: { type: 'object', properties: { to: { type: 'string' } }, required: ['to'] },
  needsApproval: true,
  execute: () => ({ sent: true }),
});

describe("llm-ws's own metrics", () => {
  it('counts tool calls waiting for approval up while they wait and down once answered; resumes with how far behind the client was', async () => {
    await loopback.start({ tools: [mail], telemetry: otelTelemetry({ tracerProvider, meterProvider }) });
    loopback.upstream.enqueue(
      { type: 'tool_calls', calls: [{ id: 'call_mail', name: 'send_mail', arguments: { to: 'a@b.c' } }] },
      { type: 'text', chunks: ['Sent.'] },
    );
    const first = await loopback.connect();
    const { sessionId, resumeToken } = (await first.waitFor('session')).data;
    first.send(userMessage('m1', 'mail'));
    const asked = await first.waitFor('tool_call', (m) => m.data.status === 'approval_required');
    const waiting = async () =>
      (await pointsOf('llm_ws.tool_calls.waiting')).find((p) => p.attributes['llm_ws.waiting_for'] === 'approval')
        ?.value;
    expect(await waiting()).toBe(1);
    first.socket.terminate();
    await first.closed;
    const second = await loopback.connect();
    // Two messages behind: the resume replays them.
    second.send({ type: 'resume', id: 'r1', data: { sessionId, resumeToken, lastSeq: (asked.seq ?? 0) - 2 } });
    await second.waitFor('session', (m) => m.data.resumed === true);
    const resumes = await pointsOf('llm_ws.resumes');
    expect(resumes.map((p) => [p.attributes['llm_ws.resume.outcome'], p.value])).toEqual([['resumed', 1]]);
    const replayed = (await pointsOf('llm_ws.resume.replayed_messages')) as DataPoint<Histogram>[];
    expect(replayed.map((p) => [p.value.count, p.value.sum])).toEqual([[1, 2]]);
    second.send({ type: 'tool_approval', id: 'a1', data: { toolCallId: 'call_mail', approved: true } });
    await second.waitFor('llm_complete');
    expect(await waiting()).toBe(0);
  });
});

describe('otelTelemetry over loopback', () => {
  it("joins the client's trace: reply span, a CLIENT chat span per model call and an execute_tool span, with the GenAI attributes", async () => {
    const server = await start();
    toolLoop();
    const client = new WSClient({ url: server.url as string, reconnectAttempts: 0 });
    try {
      await client.connect();
      const complete = await client.sendMessage('say x', { traceparent: TRACEPARENT, tracestate: 'vendor=1' });
      const sessionId = client.sessionId;
      const reply = await replySpan();
      expect(reply.spanContext().traceId).toBe(TRACE_ID);
      expect(reply.parentSpanContext?.spanId).toBe(CLIENT_SPAN_ID);
      expect(reply.parentSpanContext?.traceState?.get('vendor')).toBe('1');
      expect(reply.name).toBe('invoke_agent llm-ws');
      expect(reply.attributes).toMatchObject({
        'gen_ai.operation.name': 'invoke_agent',
        'gen_ai.agent.name': 'llm-ws',
        'gen_ai.conversation.id': sessionId,
        'gen_ai.response.finish_reasons': ['stop'],
        'gen_ai.usage.input_tokens': complete.usage?.promptTokens,
        'gen_ai.usage.output_tokens': complete.usage?.completionTokens,
        'gen_ai.usage.cache_read.input_tokens': 1,
      });

      const chats = spansNamed('chat ');
      expect(chats).toHaveLength(2);
      const address = new URL(loopback.upstream.baseURL);
      for (const chat of chats) {
        expect(chat.name).toBe('chat test-model');
        expect(chat.kind).toBe(SpanKind.CLIENT);
        expect(chat.spanContext().traceId).toBe(TRACE_ID);
        expect(chat.parentSpanContext?.spanId).toBe(reply.spanContext().spanId);
        expect(chat.attributes).toMatchObject({
          'gen_ai.operation.name': 'chat',
          'gen_ai.provider.name': 'openai',
          'gen_ai.request.model': 'test-model',
          'gen_ai.response.model': 'test-model',
          'gen_ai.conversation.id': sessionId,
          'server.address': address.hostname,
          'server.port': Number(address.port),
        });
        expect(chat.attributes['gen_ai.response.id']).toEqual(expect.any(String));
        expect(chat.attributes['gen_ai.usage.input_tokens']).toEqual(expect.any(Number));
        expect(chat.attributes['gen_ai.response.time_to_first_chunk']).toEqual(expect.any(Number));
        // Contents are off by default.
        expect(chat.attributes['gen_ai.input.messages']).toBeUndefined();
        expect(chat.attributes['gen_ai.output.messages']).toBeUndefined();
      }
      const [first, second] = [...chats].sort(
        (a, b) => (a.startTime[0] - b.startTime[0]) * 1e9 + a.startTime[1] - b.startTime[1],
      );
      expect(first?.attributes['gen_ai.response.finish_reasons']).toEqual(['tool_calls']);
      expect(first?.attributes['gen_ai.usage.cache_read.input_tokens']).toBe(1);
      expect(second?.attributes['gen_ai.response.finish_reasons']).toEqual(['stop']);

      const tool = only('execute_tool');
      expect(tool.name).toBe('execute_tool echo');
      expect(tool.parentSpanContext?.spanId).toBe(reply.spanContext().spanId);
      expect(tool.attributes).toMatchObject({
        'gen_ai.operation.name': 'execute_tool',
        'gen_ai.tool.name': 'echo',
        'gen_ai.tool.call.id': 'call_1',
        'gen_ai.tool.type': 'function',
      });
      expect(tool.attributes['gen_ai.tool.call.arguments']).toBeUndefined();
    } finally {
      client.disconnect();
    }
  });

  it('records message contents only when captureContent is on', async () => {
    await start({ captureContent: true });
    toolLoop();
    const client = await loopback.connect();
    client.send(userMessage('m1', 'say x'));
    await client.waitFor('llm_complete');
    const reply = await replySpan();
    // No traceparent: a trace of the server's own.
    expect(reply.parentSpanContext).toBeUndefined();
    expect(JSON.parse(String(reply.attributes['gen_ai.input.messages']))).toEqual([
      { role: 'user', parts: [{ type: 'text', content: 'say x' }] },
    ]);
    expect(JSON.parse(String(reply.attributes['gen_ai.output.messages']))).toEqual([
      { role: 'assistant', parts: [{ type: 'text', content: 'All done.' }], finish_reason: 'stop' },
    ]);
    const chats = spansNamed('chat ');
    const outputs = chats.map((chat) => JSON.parse(String(chat.attributes['gen_ai.output.messages'])) as unknown);
    expect(outputs).toContainEqual([
      {
        role: 'assistant',
        parts: [{ type: 'tool_call', id: 'call_1', name: 'echo', arguments: { text: 'x' } }],
        finish_reason: 'tool_calls',
      },
    ]);
    const inputs = chats.map(
      (chat) => JSON.parse(String(chat.attributes['gen_ai.input.messages'])) as Array<{ role: string }>,
    );
    expect(inputs.some((messages) => messages.some((m) => m.role === 'tool'))).toBe(true);
    const tool = only('execute_tool');
    expect(tool.attributes['gen_ai.tool.call.arguments']).toBe('{"text":"x"}');
    expect(tool.attributes['gen_ai.tool.call.result']).toBe('x');
  });

  it('marks a failed model call and its reply with error.type and an error status', async () => {
    await start();
    loopback.upstream.enqueue({ type: 'error', status: 400, message: 'bad request' });
    const client = await loopback.connect();
    client.send(userMessage('m1', 'hi'));
    await client.waitFor('error');
    const reply = await replySpan();
    expect(reply.status.code).toBe(SpanStatusCode.ERROR);
    expect(reply.attributes['error.type']).toBe('upstream_error');
    const chat = only('chat ');
    expect(chat.status.code).toBe(SpanStatusCode.ERROR);
    expect(chat.attributes['error.type']).toBe('upstream_error');
  });

  it('refuses a malformed traceparent with invalid_message, and runs no reply', async () => {
    await start();
    const client = await loopback.connect();
    client.send({ ...userMessage('m1', 'hi'), data: { text: 'hi', traceparent: '00-0000' } });
    const error = await client.waitFor('error');
    expect(error.data.code).toBe('invalid_message');
    expect(loopback.upstream.requests).toHaveLength(0);
    expect(exporter.getFinishedSpans()).toEqual([]);
  });

  it('records the GenAI client metrics per model call: duration, token usage by type, time to first chunk', async () => {
    await start();
    toolLoop();
    const client = await loopback.connect();
    client.send(userMessage('m1', 'say x'));
    await client.waitFor('llm_complete');
    const { resourceMetrics, errors } = await reader.collect();
    expect(errors).toEqual([]);
    const metric = (name: string) => {
      const found = resourceMetrics.scopeMetrics
        .flatMap((scope) => scope.metrics)
        .find((m) => m.descriptor.name === name);
      if (!found) throw new Error(`no ${name}`);
      return found;
    };
    const points = (name: string) => metric(name).dataPoints as DataPoint<Histogram>[];
    expect(metric('gen_ai.client.operation.duration').descriptor.unit).toBe('s');
    const durations = points('gen_ai.client.operation.duration');
    expect(durations.reduce((n, p) => n + p.value.count, 0)).toBe(2);
    expect(durations[0]?.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'test-model',
      'gen_ai.response.model': 'test-model',
    });
    const usage = points('gen_ai.client.token.usage');
    const byType = (type: string) =>
      usage.filter((p) => p.attributes['gen_ai.token.type'] === type).reduce((n, p) => n + (p.value.sum ?? 0), 0);
    const complete = client.forRequest('m1').find((m) => m.type === 'llm_complete');
    const reported = complete?.type === 'llm_complete' ? complete.data.usage : undefined;
    expect(byType('input')).toBe(reported?.promptTokens);
    expect(byType('output')).toBe(reported?.completionTokens);
    expect(points('gen_ai.client.operation.time_to_first_chunk').reduce((n, p) => n + p.value.count, 0)).toBe(2);
  });
});
