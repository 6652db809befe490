/**
 * The README's Quick Start, as a new user follows it: a fresh ES module project with the packed
 * llm-ws, the README's dependencies and tsconfig, and its snippets pasted into files. The server
 * snippet runs (on port 0 instead of 3000, and the offline model answers), both client snippets
 * talk to it, and tsc type-checks all three.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeConsumerApp, makeTempDir, packOnce, removeDir, repoRoot, runCommand } from './pack';
import { type CliProcess, spawnTracked } from '../utils/spawn-cli';

/** The code blocks of one language in a `## ` section of the README, in order. */
function sectionBlocks(heading: string, language: 'ts' | 'json' | 'sh'): string[] {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const start = readme.indexOf(`\n## ${heading}\n`);
  const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
  return [...section.matchAll(new RegExp('```' + language + '\\n([\\s\\S]*?)```', 'g'))].map(
    (match) => match[1] as string,
  );
}

const quickStartBlocks = (language: 'ts' | 'json' | 'sh'): string[] => sectionBlocks('Quick start', language);

describe("the README's Quick Start", () => {
  let dir: string;
  let app: string;
  let server: CliProcess | undefined;

  const [serverSnippet, rxClient, callbackClient] = quickStartBlocks('ts');
  const [tsconfig] = quickStartBlocks('json');

  beforeAll(async () => {
    expect([serverSnippet, rxClient, callbackClient, tsconfig].every((block) => block !== undefined)).toBe(true);
    // What the README tells users to install, besides llm-ws itself.
    const install = quickStartBlocks('sh')[0] as string;
    for (const name of ['io-ts', 'tsx', 'typescript', '@types/node']) expect(install).toContain(name);
    expect(install).toContain('npm pkg set type=module');
    dir = makeTempDir('readme');
    app = await makeConsumerApp(join(dir, 'app'), await packOnce(), {
      type: 'module',
      dependencies: { 'io-ts': '^2', tsx: '^4', typescript: 'latest', '@types/node': '^20' },
      files: {
        'server.ts': (serverSnippet as string).replace('port: 3000', 'port: 0'),
        'tsconfig.json': tsconfig as string,
      },
    });
  }, 300_000);
  afterAll(async () => {
    await server?.stop();
    removeDir(dir);
  });

  it('type-checks as written with the tsconfig it gives', async () => {
    writeFileSync(join(app, 'client-rx.ts'), rxClient as string);
    writeFileSync(join(app, 'client-callbacks.ts'), callbackClient as string);
    await runCommand(join(app, 'node_modules/.bin/tsc'), ['-p', '.'], { cwd: app });
  }, 120_000);

  it('runs: the server snippet listens, and each client snippet gets its answer and exits', async () => {
    server = spawnTracked(join(app, 'node_modules/.bin/tsx'), ['server.ts'], { cwd: app });
    const [, url] = (await server.waitForOutput(/listening on (ws:\/\/\S+)/, 60_000)) as [string, string];
    const withUrl = (snippet: string): string => snippet.replace('ws://localhost:3000/ws', url);
    writeFileSync(join(app, 'run-rx.ts'), withUrl(rxClient as string));
    writeFileSync(join(app, 'run-callbacks.ts'), withUrl(callbackClient as string));
    const tsx = join(app, 'node_modules/.bin/tsx');
    const rx = await runCommand(tsx, ['run-rx.ts'], { cwd: app, timeoutMs: 60_000 });
    expect(rx.stdout).toMatch(/connected\n2\+3\*4 = 14\ndone\n/);
    const callbacks = await runCommand(tsx, ['run-callbacks.ts'], { cwd: app, timeoutMs: 60_000 });
    expect(callbacks.stdout).toContain('2+3*4 = 14');
    expect(server.output()).toMatch(/connected [\w-]+\nconnected [\w-]+/);
  }, 180_000);

  it("type-checks and runs the test server section's snippet: a client on server.endpoint.url gets the scripted answer", async () => {
    const [testingSnippet] = sectionBlocks('Testing with the OpenAI-compatible test server', 'ts');
    writeFileSync(join(app, 'testing.ts'), testingSnippet as string);
    await runCommand(join(app, 'node_modules/.bin/tsc'), ['-p', '.'], { cwd: app });
    const run = await runCommand(join(app, 'node_modules/.bin/tsx'), ['testing.ts'], { cwd: app, timeoutMs: 60_000 });
    expect(run.stdout).toContain('Hello world');
  }, 180_000);
});
