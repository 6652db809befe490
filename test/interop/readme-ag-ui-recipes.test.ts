/**
 * The AI SDK guide's "Using llm-ws from AG-UI / CopilotKit" recipes as a user pastes them: each ```ts
 * block in a module file of its own, type-checked (strict) and run with tsx against a WSServer
 * whose model asks for `send_mail`, which needs approval. The one change: the guide's
 * localhost:3000 becomes the test server's address. The recipes run in a fresh app with the
 * packed llm-ws installed (test/consumers/pack.ts) beside `@ag-ui/client`, as a user has them;
 * the server they talk to runs in this process, from the sources.
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { makeConsumerApp, makeTempDir, packOnce, removeDir } from '../consumers/pack';
import { useLoopbackServer } from '../utils/loopback-server';
import { MAIL_ANN, recordedSendMail } from '../utils/send-mail-tool';

const repoRoot = join(__dirname, '..', '..');
const run = promisify(execFile);

/** The ```ts blocks of the guide section under `## heading`, in order. */
function sectionBlocks(heading: string): string[] {
  const readme = readFileSync(join(repoRoot, 'docs', 'guide', 'ai-sdk-ag-ui.md'), 'utf8');
  const start = readme.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`docs/guide/ai-sdk-ag-ui.md has no section "${heading}"`);
  const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
  return [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1] as string);
}

const loopback = useLoopbackServer();

describe("the guide's AG-UI recipes", () => {
  let temp: string | undefined;
  let dir: string;
  const [httpAgent, wsAgent] = sectionBlocks('Using llm-ws from AG-UI / CopilotKit');

  beforeAll(async () => {
    expect(httpAgent).toContain("'http://localhost:3000/ag-ui'");
    expect(wsAgent).toContain("'ws://localhost:3000/ws'");
    temp = makeTempDir('ag-ui-recipes');
    dir = await makeConsumerApp(join(temp, 'app'), await packOnce(), {
      dependencies: { '@ag-ui/client': '^1.0.0', tsx: '^4', typescript: '^5.9.3', '@types/node': '^20' },
      files: {
        'tsconfig.json': JSON.stringify({
          compilerOptions: {
            target: 'es2022',
            module: 'preserve',
            moduleResolution: 'bundler',
            strict: true,
            skipLibCheck: true,
            noEmit: true,
            types: ['node'],
          },
          files: ['http-agent.mts', 'ws-agent.mts'],
        }),
      },
    });
  }, 300_000);
  afterAll(() => removeDir(temp));

  /** Writes `snippet` (localhost:3000 pointed at this test's server) to `file` and runs it with tsx. */
  async function runRecipe(file: string, snippet: string, port: number): Promise<string> {
    writeFileSync(join(dir, file), snippet.replaceAll('localhost:3000', `127.0.0.1:${port}`));
    const { stdout } = await run(process.execPath, ['--import', 'tsx', file], { cwd: dir, timeout: 60_000 });
    return stdout;
  }

  it('type-check as written (strict)', async () => {
    writeFileSync(join(dir, 'http-agent.mts'), httpAgent as string);
    writeFileSync(join(dir, 'ws-agent.mts'), wsAgent as string);
    await run(process.execPath, [join(dir, 'node_modules/typescript/bin/tsc'), '-p', '.'], { cwd: dir });
  }, 60_000);

  it('HttpAgent: asks for the approval, approves it, prints the reply and exits', async () => {
    const { tool, runs } = recordedSendMail();
    const server = await loopback.start({ builtinTools: false, tools: [tool] });
    loopback.upstream.enqueue(...MAIL_ANN);
    const stdout = await runRecipe('http-agent.mts', httpAgent as string, server.port as number);
    expect(stdout).toBe('May send_mail run?\nMail sent.\n');
    expect(runs).toEqual([{ to: 'ann' }]);
  }, 60_000);

  it('LlmWsAgent: prints the deltas of both runs, the tool approved in between, and exits', async () => {
    const { tool, runs } = recordedSendMail();
    const server = await loopback.start({ builtinTools: false, tools: [tool] });
    loopback.upstream.enqueue(...MAIL_ANN);
    const stdout = await runRecipe('ws-agent.mts', wsAgent as string, server.port as number);
    expect(stdout).toBe('Sending.\nMail \nsent.\n');
    expect(runs).toEqual([{ to: 'ann' }]);
  }, 60_000);
});
