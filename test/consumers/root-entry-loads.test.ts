import { join } from 'node:path';
import { makeConsumerApp, makeTempDir, packOnce, removeDir, runCommand } from './pack';

/**
 * What `import { WSClient } from 'llm-ws'` costs a Node app: the modules the packed root entry
 * loads, listed by a resolve hook (`module.registerHooks`, which sees `import` and `require`
 * alike), in an ES module and a CommonJS script. The server's heavy dependencies load when a
 * server part is first made, never for the client alone.
 */

/** Prints every URL resolved while the script runs, as JSON, when it exits. */
const LIST_LOADS = `import { registerHooks } from 'node:module';
const urls = new Set();
registerHooks({
  resolve(specifier, context, nextResolve) {
    const result = nextResolve(specifier, context);
    urls.add(result.url);
    return result;
  },
});
process.on('exit', () => process.stdout.write(JSON.stringify([...urls]) + '\\n'));
`;

const ESM = `import { WSClient } from 'llm-ws';
if (typeof WSClient !== 'function') throw new Error('no WSClient');
`;
const CJS = `const { WSClient } = require('llm-ws');
if (typeof WSClient !== 'function') throw new Error('no WSClient');
`;
/** The same, then a server made: the lazily loaded packages do load, so the check above can fail. */
const SERVER = `import { WSServer, openAIProvider, defineTool, redisStore } from 'llm-ws';
const server = new WSServer({
  port: 0,
  hostname: '127.0.0.1',
  llm: openAIProvider({ apiKey: 'unused', baseURL: 'http://127.0.0.1:9/v1' }),
  tools: [defineTool({ name: 'echo', description: 'echo', parameters: { type: 'object' }, execute: (args) => args })],
  store: redisStore({ url: 'redis://127.0.0.1:6379' }),
});
await server.start();
await server.stop();
`;

const HEAVY = ['openai', 'ioredis', 'prom-client', 'ajv'];

/** The packages whose files a script loaded, and how many modules it loaded in all. */
async function loads(app: string, script: string): Promise<{ modules: number; packages: string[] }> {
  const { stdout } = await runCommand(process.execPath, ['--import', './list-loads.mjs', script], { cwd: app });
  const urls = JSON.parse(stdout.trim().split('\n').pop() as string) as string[];
  const packages = new Set<string>();
  for (const url of urls) {
    // The last node_modules/ names the package the file is in (llm-ws's own files included).
    const match = /.*node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
    if (match) packages.add(match[1] as string);
  }
  return { modules: urls.length, packages: [...packages].sort() };
}

describe("the packed root entry's module loads", () => {
  let dir: string;
  let app: string;

  beforeAll(async () => {
    dir = makeTempDir('root-loads');
    const tarball = await packOnce();
    app = await makeConsumerApp(join(dir, 'app'), tarball, {
      files: { 'list-loads.mjs': LIST_LOADS, 'esm.mjs': ESM, 'cjs.cjs': CJS, 'server.mjs': SERVER },
    });
  }, 300_000);
  afterAll(() => removeDir(dir));

  it.each([
    ['an ES module', 'esm.mjs'],
    ['a CommonJS script', 'cjs.cjs'],
  ])('%s importing WSClient from llm-ws loads none of openai, ioredis, prom-client, ajv', async (_, script) => {
    const { modules, packages } = await loads(app, script);
    expect(packages).toEqual(['eventsource-parser', 'fp-ts', 'io-ts', 'llm-ws', 'rxjs', 'ws']);
    // 633 before the server's dependencies were loaded lazily; about 280 since.
    expect(modules).toBeLessThan(400);
  });

  it('a server made from the same entry loads them when it needs them', async () => {
    const { packages } = await loads(app, 'server.mjs');
    expect(packages).toEqual(expect.arrayContaining(HEAVY));
  });
});
