/**
 * The set-up bench/hot-path.ts and bench/tracing.ts share: one core in this process, without
 * sockets, on a model whose streams the bench drives by hand, and connections whose transport
 * reads each frame's length as a socket would and keeps nothing.
 */
import { Subject } from 'rxjs';
import { silentLogger } from '../src/core/logger';
import { type LLMWSCore, makeServer } from '../src/core/make-server';
import type { Transport } from '../src/core/ports';
import type { Telemetry } from '../src/core/telemetry';
import type { LLMEvent, LLMProvider } from '../src/llm/types';
import { memoryStore } from '../src/store/memory-store';
import { createToolRegistry } from '../src/tools';

/** Characters handed to every transport, so the work of making them cannot be optimised away. */
export const sent = { characters: 0 };

/** A transport that takes frames as a socket would: the text's length is read, nothing kept. */
export const countingTransport = (): Transport => ({
  send: (text) => {
    sent.characters += text.length;
  },
  close: () => undefined,
  bufferedAmount: () => 0,
  onDrain: () => () => undefined,
});

/** The core of one bench run; with `telemetry`, its model and tools decorated as `WSServer` does. */
export async function inProcessCore(
  telemetry?: Telemetry,
): Promise<{ core: LLMWSCore; streams: Array<Subject<LLMEvent>> }> {
  const streams: Array<Subject<LLMEvent>> = [];
  const model: LLMProvider = Object.assign(
    () => {
      const stream = new Subject<LLMEvent>();
      streams.push(stream);
      return stream;
    },
    { info: { providerName: 'openai', model: 'bench-model' } },
  );
  const tools = createToolRegistry([]);
  const core = makeServer({
    store: memoryStore(),
    session: {
      provider: telemetry ? telemetry.provider(model) : model,
      tools: telemetry ? telemetry.tools(tools) : tools,
      conversation: { systemPrompt: '' },
      maxToolSteps: 5,
      idleTimeoutMs: 60_000,
      maxMessageLength: 10_000,
      onDisconnect: 'continue',
      replay: { maxMessages: 5000, maxBytes: 2 * 1024 * 1024 },
      backpressure: { highWaterMark: 1 << 20, hardLimit: 1 << 24 },
      logger: silentLogger,
      ...(telemetry ? { telemetry } : {}),
    },
    sessionTtlMs: 60_000,
    logger: silentLogger,
  });
  await core.ready();
  return { core, streams };
}

/** Sends a `user_message` on each of `sessions` new connections: a reply starts on each. */
export function startReplies(core: LLMWSCore, sessions: number): void {
  for (let i = 0; i < sessions; i++)
    core
      .opened(countingTransport(), undefined)
      .receive(JSON.stringify({ type: 'user_message', id: `q${i}`, data: { text: 'hi' } }), false);
}

/** One text event of `' token'` to every stream. */
export function chunkAll(streams: ReadonlyArray<Subject<LLMEvent>>): void {
  for (const stream of streams) stream.next({ type: 'text', delta: ' token' });
}

/** Ends every stream as a model does: a finish, the usage, completion. */
export function finishAll(streams: ReadonlyArray<Subject<LLMEvent>>, completionTokens: number): void {
  for (const stream of streams) {
    stream.next({ type: 'finish', reason: 'stop' });
    stream.next({ type: 'usage', usage: { promptTokens: 10, completionTokens, totalTokens: completionTokens + 10 } });
    stream.complete();
  }
}

/** µs of CPU (user + system) since `since` (a `process.cpuUsage()` reading). */
export const cpuMicrosSince = (since: NodeJS.CpuUsage): number => {
  const used = process.cpuUsage(since);
  return used.user + used.system;
};

/** The median of `values` (sorted in place). */
export const median = (values: number[]): number =>
  values.sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
