/**
 * The README's and the guides' code, as a new user follows it: a fresh ES module project with the
 * packed llm-ws, the dependencies and tsconfig of the Getting started guide, and the samples pasted
 * into files. Every ```ts sample of the README and of docs/guide/*.md is type-checked (strict)
 * with that tsconfig (test/consumers/doc-samples.ts says how a sample is marked, and which are
 * checked by other tests); the runnable ones run: the README's server and client, the guide's
 * server (on port 0 instead of 3000, and the offline model answers) with both of its clients, the
 * Node guide's Express and Fastify servers (on a free port) with the README's client, and the test
 * server's snippet.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { docSamples, type DocSample, sampleFiles } from './doc-samples';
import { makeConsumerApp, makeTempDir, packOnce, removeDir, repoRoot, runCommand } from './pack';
import { freePorts } from '../utils/redis-cluster';
import { type CliProcess, spawnTracked } from '../utils/spawn-cli';

const GETTING_STARTED = 'docs/guide/getting-started.md';

/** The code blocks of one language in a `## ` section of a markdown file, in order. */
function sectionBlocks(file: string, heading: string, language: 'ts' | 'json' | 'sh'): string[] {
  const text = readFileSync(join(repoRoot, file), 'utf8');
  const start = text.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`${file} has no section "${heading}"`);
  const section = text.slice(start, text.indexOf('\n## ', start + 1));
  return [...section.matchAll(new RegExp('```' + language + '\\n([\\s\\S]*?)```', 'g'))].map(
    (match) => match[1] as string,
  );
}

const quickStartBlocks = (language: 'ts' | 'json' | 'sh'): string[] =>
  sectionBlocks(GETTING_STARTED, 'Quick start', language);

const samples: DocSample[] = sampleFiles(repoRoot).flatMap((file) => docSamples(repoRoot, file));
const runnable = (file: string): string[] =>
  samples.filter((sample) => sample.mode === 'run' && sample.where.startsWith(`${file}:`)).map((s) => s.code);

/** What the samples import besides llm-ws and Node, as a user would install it. */
const SAMPLE_DEPENDENCIES = {
  '@nestjs/common': '^11',
  '@nestjs/core': '^11',
  '@opentelemetry/api': '^1.9.0',
  '@types/express': '^5',
  '@types/ws': '^8',
  express: '^5',
  fastify: '^5',
  graphql: '^16',
  'graphql-ws': '^6',
  pino: '^10',
  'prom-client': '^15',
  'reflect-metadata': '^0.2',
};

describe("the README's and the guides' code", () => {
  let dir: string;
  let app: string;
  const servers: CliProcess[] = [];

  const [serverSnippet, rxClient, callbackClient] = quickStartBlocks('ts');
  const [tsconfig] = quickStartBlocks('json');

  beforeAll(async () => {
    expect([serverSnippet, rxClient, callbackClient, tsconfig].every((block) => block !== undefined)).toBe(true);
    // What the guide tells users to install, besides llm-ws itself.
    const install = quickStartBlocks('sh')[0] as string;
    for (const name of ['io-ts', 'tsx', 'typescript', '@types/node']) expect(install).toContain(name);
    expect(install).toContain('npm pkg set type=module');
    dir = makeTempDir('readme');
    app = await makeConsumerApp(join(dir, 'app'), await packOnce(), {
      type: 'module',
      dependencies: {
        'io-ts': '^2',
        tsx: '^4',
        typescript: 'latest',
        '@types/node': '^20',
        ...SAMPLE_DEPENDENCIES,
      },
      files: { 'tsconfig.json': tsconfig as string },
    });
  }, 300_000);
  afterAll(async () => {
    await Promise.all(servers.map((server) => server.stop()));
    removeDir(dir);
  });

  /** Starts a server snippet (on port 0) and resolves with the URL it prints. */
  const startServer = async (name: string, snippet: string): Promise<{ server: CliProcess; url: string }> => {
    writeFileSync(join(app, name), snippet.replace('port: 3000', 'port: 0'));
    const server = spawnTracked(join(app, 'node_modules/.bin/tsx'), [name], { cwd: app });
    servers.push(server);
    const [, url] = (await server.waitForOutput(/listening on (ws:\/\/\S+)/, 60_000)) as [string, string];
    return { server, url };
  };
  const tsx = (file: string): Promise<{ stdout: string }> =>
    runCommand(join(app, 'node_modules/.bin/tsx'), [file], { cwd: app, timeoutMs: 60_000 });

  it('marks every sample that is not type-checked here with the reason and the test that covers it', () => {
    const skipped = samples.filter((sample) => sample.mode === 'skip');
    for (const sample of skipped) {
      expect(`${sample.where}: ${sample.note}`).toMatch(/\(.{10,}\)/);
      // The test that covers it exists: a skip names where the sample is checked instead.
      const test = /test\/[\w/.-]+\.test\.ts/.exec(sample.note)?.[0];
      expect(
        `${sample.where}: ${test !== undefined && existsSync(join(repoRoot, test)) ? 'names' : 'lacks'} its test`,
      ).toBe(`${sample.where}: names its test`);
    }
    // The runnable ones are those this file runs, and no others.
    expect(runnable('README.md')).toHaveLength(2);
    expect(runnable(GETTING_STARTED)).toEqual([serverSnippet, rxClient, callbackClient]);
    expect(runnable('docs/guide/rxjs.md')).toHaveLength(1);
    expect(runnable('docs/guide/node.md')).toHaveLength(2);
    expect(samples.filter((sample) => sample.mode === 'run')).toHaveLength(8);
    expect(samples.filter((sample) => sample.mode !== 'skip').length).toBeGreaterThan(20);
  });

  it("type-checks every sample of the README and the guides (strict), with the guide's tsconfig", async () => {
    mkdirSync(join(app, 'samples'), { recursive: true });
    // The NestJS sample bootstraps the app's own module, which a Nest project has beside it.
    writeFileSync(join(app, 'samples', 'app.module.ts'), 'export class AppModule {}\n');
    for (const sample of samples.filter((s) => s.mode !== 'skip')) {
      // A sample is a module of its own; its prelude (what the text around it gives) comes first.
      const prelude = sample.mode === 'check' ? sample.note : '';
      writeFileSync(join(app, 'samples', sample.fileName), `${prelude}\n${sample.code}\nexport {};\n`);
    }
    await runCommand(join(app, 'node_modules/.bin/tsc'), ['-p', '.'], { cwd: app });
  }, 180_000);

  it("runs the README's quick start: its server listens, its client gets the answer and exits", async () => {
    const [readmeServer, readmeClient] = runnable('README.md') as [string, string];
    const { url } = await startServer('readme-server.ts', readmeServer);
    writeFileSync(join(app, 'readme-client.ts'), readmeClient.replace('ws://localhost:3000/ws', url));
    const run = await tsx('readme-client.ts');
    expect(run.stdout).toBe('2+3*4 = 14');
  }, 180_000);

  it("runs the guide's quick start: the server snippet listens, and each client snippet gets its answer and exits", async () => {
    const { server, url } = await startServer('server.ts', serverSnippet as string);
    const withUrl = (snippet: string): string => snippet.replace('ws://localhost:3000/ws', url);
    writeFileSync(join(app, 'run-rx.ts'), withUrl(rxClient as string));
    writeFileSync(join(app, 'run-callbacks.ts'), withUrl(callbackClient as string));
    const rx = await tsx('run-rx.ts');
    expect(rx.stdout).toMatch(/connected\n2\+3\*4 = 14\ndone\n/);
    const callbacks = await tsx('run-callbacks.ts');
    expect(callbacks.stdout).toContain('2+3*4 = 14');
    expect(server.output()).toMatch(/connected [\w-]+\nconnected [\w-]+/);
  }, 180_000);

  it.each([
    ['Express', 'http.listen(3000);', "\nhttp.once('listening', () => console.log('listening'));\n"],
    ['Fastify', 'await app.listen({ port: 3000 });', "\nconsole.log('listening');\n"],
  ])(
    "runs the Node guide's %s sample: a client on its /llm path gets the answer",
    async (framework, listen, listening) => {
      const sample = runnable('docs/guide/node.md').find((code) => code.includes(`from '${framework.toLowerCase()}'`));
      expect(sample).toContain(listen);
      const [port] = await freePorts(1);
      // As the guide has it, on a free port, with a line that tells the test it listens.
      const file = `${framework.toLowerCase()}-server.ts`;
      writeFileSync(join(app, file), `${(sample as string).replace('3000', String(port))}${listening}`);
      const server = spawnTracked(join(app, 'node_modules/.bin/tsx'), [file], { cwd: app });
      servers.push(server);
      await server.waitForOutput(/^listening$/m, 60_000);
      const [readmeClient] = runnable('README.md').slice(1) as [string];
      writeFileSync(
        join(app, `${framework.toLowerCase()}-client.ts`),
        readmeClient.replace('ws://localhost:3000/ws', `ws://127.0.0.1:${String(port)}/llm`),
      );
      const run = await tsx(`${framework.toLowerCase()}-client.ts`);
      expect(run.stdout).toBe('2+3*4 = 14');
      if (framework === 'Express') {
        // The sample routes /health to llm.health() beside its own routes.
        const health = (await (await fetch(`http://127.0.0.1:${String(port)}/health`)).json()) as { status?: string };
        expect(health.status).toBe('ok');
      }
    },
    180_000,
  );

  it("runs the test server section's snippet: a client on server.endpoint.url gets the scripted answer", async () => {
    const [testingSnippet] = runnable('docs/guide/rxjs.md') as [string];
    expect(sectionBlocks('docs/guide/rxjs.md', 'Testing with the OpenAI-compatible test server', 'ts')).toEqual([
      testingSnippet,
    ]);
    writeFileSync(join(app, 'testing.ts'), testingSnippet);
    const run = await tsx('testing.ts');
    expect(run.stdout).toContain('Hello world');
  }, 180_000);
});
