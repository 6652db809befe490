import { filter, firstValueFrom } from 'rxjs';
import { ChatService } from '../../examples/angular-chat.service';
import { offlineProvider } from '../../src/llm/offline-provider';
import { silentLogger } from '../../src/server/logger';
import { WSServer } from '../../src/server/ws-server';
import { join } from 'node:path';
import WebSocket from 'ws';
import type { WebSocketConstructor } from '../../src/client/options';
import { spawn } from 'node:child_process';

describe('examples', () => {
  const root = join(__dirname, '../..');
  const runExample = async (command: string, args: string[]): Promise<{ code: number | null; output: string }> => {
    const child = spawn(command, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (data: Buffer) => (output += data.toString()));
    child.stderr.on('data', (data: Buffer) => (output += data.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    return { code, output };
  };

  it.each([
    ['Node (tsx)', process.execPath, ['--import', 'tsx', 'examples/ws-integration-test.ts']],
    ['Bun', join(root, 'node_modules/.bin/bun'), ['run', 'examples/ws-integration-test.ts']],
  ])('ws-integration-test.ts passes under %s', async (_runtime, command, args) => {
    const { code, output } = await runExample(command, args);
    expect(output).toContain('all checks passed');
    expect(code).toBe(0);
  });

  it('the Angular-style ChatService streams a reply into messages$', async () => {
    const server = new WSServer({ port: 0, hostname: '127.0.0.1', logger: silentLogger, llm: offlineProvider({ chunkDelayMs: 0 }) });
    await server.start();
    // Node 20 has no global WebSocket; a browser app passes nothing.
    const chat = new ChatService({ url: server.url as string, WebSocketCtor: WebSocket as unknown as WebSocketConstructor });
    try {
      const done = firstValueFrom(chat.messages$.pipe(filter((lines) => lines.some((line) => line.role === 'assistant' && !line.pending))));
      chat.send('what is 6*7?');
      const lines = await done;
      expect(lines.map(({ role, text, pending }) => ({ role, text, pending }))).toEqual([
        { role: 'user', text: 'what is 6*7?', pending: false },
        { role: 'assistant', text: '6*7 = 42', pending: false },
        { role: 'tool', text: 'calculate: {"expression":"6*7","result":42}', pending: false },
      ]);
    } finally {
      chat.dispose();
      await server.stop();
    }
  });
});

