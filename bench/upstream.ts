/**
 * The model for the benchmark, in its own process: the OpenAI-compatible test server streaming
 * `K` chunks paced `D` ms apart (each padded with `P` bytes), each stamped with its emit time so clients can measure the
 * latency the relay adds. The user message says `K=<count> D=<ms> [P=<bytes>]`.
 *
 * Prints `ready <baseURL>` once listening.
 */
import { createOpenAITestServer, type RecordedRequest, type TestScenario } from '../src/testing/node';
import { stampChunk } from './stamp';

function lastUserText(request: RecordedRequest): string {
  const messages: Array<{ role: string; content: string }> = request.body?.messages ?? [];
  return [...messages].reverse().find((message) => message.role === 'user')?.content ?? '';
}

async function main(): Promise<void> {
  const server = await createOpenAITestServer({ port: Number(process.env.PORT ?? 0) });
  server.respondWith((request) => {
    const text = lastUserText(request);
    const count = Number(/K=(\d+)/.exec(text)?.[1] ?? 10);
    const delayMs = Number(/D=(\d+)/.exec(text)?.[1] ?? 0);
    const padding = Number(/P=(\d+)/.exec(text)?.[1] ?? 0);
    // Stamps are made when the chunk is written, not now: the scenario asks for them lazily.
    const scenario: TestScenario = {
      type: 'text',
      chunks: Array.from({ length: count }, (_, i) => stampChunk(i, padding)),
      delayMs,
    };
    return scenario;
  });
  console.log(`ready ${server.baseURL}`);
  process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
}

void main();
