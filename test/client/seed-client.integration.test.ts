import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { WSServer } from '../../src/server/ws-server';
import { createOpenAITestServer, type OpenAITestServer } from '../../src/testing/node';
import { startServerFor } from '../utils/test-server';

let upstream: OpenAITestServer;
let server: WSServer;

beforeEach(async () => {
  upstream = await createOpenAITestServer();
  server = await startServerFor(upstream);
});
afterEach(async () => {
  await server.stop();
  await upstream.close();
});

/** Runs a TypeScript file under Node (tsx), as a user's script, and collects its output. */
async function runScript(
  file: string,
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const root = join(__dirname, '../..');
  const child = spawn(process.execPath, ['--import', 'tsx', file], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (data: Buffer) => (stdout += data.toString()));
  child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, stdout, stderr };
}

describe("the seed's client code, run as a user's script against a real server", () => {
  it('never crashes: fire-and-forget errors reach onError, tools are announced once, get_status answers', async () => {
    upstream.enqueue(
      { type: 'text', chunks: ['Hi', ' there'], delayMs: 20 },
      { type: 'tool_calls', calls: [{ id: 'c1', name: 'get_current_time', arguments: {} }] },
      { type: 'text', chunks: ['It is late.'] },
    );
    const { code, stdout, stderr } = await runScript('test/client/fixtures/seed-client.ts', {
      LLM_WS_URL: server.url as string,
    });
    expect(stderr).toBe(''); // Node prints an unhandled rejection here before it exits 1
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines).toContain('error: busy');
    expect(lines).toContain('communication error: busy');
    expect(lines.filter((line) => line === 'Using tool: get_current_time')).toHaveLength(1);
    expect(lines.filter((line) => line === 'Tool result: get_current_time')).toHaveLength(1);
    expect(lines).toContain('get_status: status msg_124');
    expect(lines).toContain('reply: stop');
    // Each status once per change: never the same status twice in a row.
    const statuses = lines.filter((line) => line.startsWith('status: '));
    expect(statuses.length).toBeGreaterThan(0);
    statuses.forEach((line, i) => expect(line).not.toBe(statuses[i - 1]));
    // After disconnect(): four calls, four not_connected on onError, none on onCommunicationError.
    expect(lines.filter((line) => line === 'error: not_connected')).toHaveLength(4);
    expect(lines.filter((line) => line === 'communication error: not_connected')).toHaveLength(0);
    expect(lines[lines.length - 1]).toBe('done');
  });
});
