import { join } from 'node:path';
import { makeConsumerApp, makeTempDir, packOnce, removeDir, repoRoot, runCommand } from './pack';
import { type InstalledServer, serveInstalled } from './serve';

/**
 * A Node app that depends on the packed llm-ws: an ES module script and a CommonJS script (each
 * with the entry points a Node user imports), a Bun script on `llm-ws/client` (Bun's own
 * WebSocket), and TypeScript as users get it from `npm i typescript` (7.x, the native compiler)
 * type-checking code against the published declarations. All against `llm-ws serve` from the
 * same installed package. The app installs as a user's does today: no lockfile, no cache.
 */

/** Connects, asks the offline model a sum, prints the streamed chunks and the final text as JSON. */
const roundTrip = (WSClient: string): string => `
const client = new ${WSClient}({ url: process.argv[2] });
const chunks = [];
client.chunks$.subscribe(({ chunk }) => chunks.push(chunk));
await client.connect();
const { fullText, finishReason } = await client.sendMessage('what is 2+3*4?');
client.disconnect();
console.log(JSON.stringify({ fullText, streamed: chunks.join(''), finishReason }));
`;

const ESM = `import { WSClient, ProtocolError } from 'llm-ws';
import { ProtocolError as ProtocolErrorOfClient } from 'llm-ws/client';
import { decodeServerMessage } from 'llm-ws/protocol';
import { WSServer } from 'llm-ws/server';
import { createFakeServer } from 'llm-ws/testing';
import { createOpenAITestServer } from 'llm-ws/testing/node';
// One class whichever entry it comes from, so instanceof holds across them.
if (ProtocolError !== ProtocolErrorOfClient) throw new Error('two ProtocolError classes');
if (typeof WSServer !== 'function' || typeof createOpenAITestServer !== 'function' || typeof createFakeServer !== 'function') throw new Error('missing exports');
if (decodeServerMessage('{').left.code !== 'invalid_json') throw new Error('decode');
${roundTrip('WSClient')}`;

const CJS = `const { WSClient, ProtocolError } = require('llm-ws');
const { ProtocolError: ProtocolErrorOfClient } = require('llm-ws/client');
const { WSServer } = require('llm-ws/server');
if (ProtocolError !== ProtocolErrorOfClient) throw new Error('two ProtocolError classes');
if (typeof WSServer !== 'function') throw new Error('missing exports');
(async () => {
${roundTrip('WSClient')}
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
`;

const BUN = `import { WSClient } from 'llm-ws/client';
${roundTrip('WSClient')}`;

/** Code a user writes against the types: it must compile, and the commented lines must not. */
const TYPED = `import { WSClient, type ReplyEvent } from 'llm-ws/client';
import { WSServer, type WSServerOptions } from 'llm-ws/server';
import { decodeServerMessage, type ServerMessage, CloseCode } from 'llm-ws/protocol';
import { createOpenAITestServer } from 'llm-ws/testing/node';
import { WSClient as NodeWSClient } from 'llm-ws';

const client = new WSClient({ url: 'ws://localhost:8080/ws' });
const node: WSClient = new NodeWSClient({ url: 'ws://localhost:8080/ws' });
client.chunks$.subscribe(({ chunk }) => chunk.toUpperCase());
const done: Promise<string> = client.sendMessage('hi').then(({ fullText }) => fullText);
const events = (event: ReplyEvent): string => event.type;
const options: WSServerOptions = { port: 0 };
const server = new WSServer(options);
const decoded = decodeServerMessage('{}');
const message: ServerMessage | undefined = decoded._tag === 'Right' ? decoded.right : undefined;
const code: CloseCode = CloseCode.Forbidden;
void [node, done, events, server, message, code, createOpenAITestServer];
`;

const TYPE_ERROR = `import { WSClient } from 'llm-ws/client';
const client = new WSClient({ url: 42 });
void client;
`;

/** A strict project checking `files`, the library's .d.ts included (no skipLibCheck). */
const tsconfig = (moduleResolution: string, module: string, ...files: string[]): string =>
  JSON.stringify({
    compilerOptions: {
      target: 'es2022',
      module,
      moduleResolution,
      strict: true,
      noEmit: true,
      skipLibCheck: false,
      types: ['node'],
      lib: ['es2022', 'dom'],
    },
    files,
  });

describe('the packed llm-ws in Node, Bun and TypeScript', () => {
  let dir: string;
  let app: string;
  let server: InstalledServer;

  beforeAll(async () => {
    dir = makeTempDir('node-consumer');
    const tarball = await packOnce();
    app = await makeConsumerApp(join(dir, 'app'), tarball, {
      // TypeScript as `npm i typescript` gives it today, and Node's types for the server's options.
      dependencies: { typescript: 'latest', '@types/node': '^22' },
      // Every dependency as a user installing today gets it: the strict type-check below then
      // reads the declarations of the releases our ranges resolve to now (ioredis 6.1's .d.ts,
      // inside `^6`, failed it while the lockfile's 6.0 passed).
      fresh: true,
      files: {
        'esm.mjs': ESM,
        'cjs.cjs': CJS,
        'bun-client.ts': BUN,
        'typed.ts': TYPED,
        // The same code as CommonJS: under nodenext its imports resolve to the `require` types.
        'typed-cjs.cts': TYPED,
        'type-error/index.ts': TYPE_ERROR,
        'tsconfig.nodenext.json': tsconfig('nodenext', 'nodenext', 'typed.ts', 'typed-cjs.cts'),
        'tsconfig.bundler.json': tsconfig('bundler', 'esnext', 'typed.ts'),
        'tsconfig.type-error.json': tsconfig('nodenext', 'nodenext', 'type-error/index.ts'),
      },
    });
    server = await serveInstalled(app);
  }, 300_000);
  afterAll(async () => {
    await server?.stop();
    removeDir(dir);
  });

  const expectRoundTrip = (stdout: string): void => {
    expect(JSON.parse(stdout.trim().split('\n').pop() as string)).toEqual({
      fullText: '2+3*4 = 14',
      streamed: '2+3*4 = 14',
      finishReason: 'stop',
    });
  };

  it('an ES module script imports every entry and streams a reply', async () => {
    expectRoundTrip((await runCommand(process.execPath, ['esm.mjs', server.url], { cwd: app })).stdout);
  });

  it('a CommonJS script requires them and streams a reply', async () => {
    expectRoundTrip((await runCommand(process.execPath, ['cjs.cjs', server.url], { cwd: app })).stdout);
  });

  it('Bun runs llm-ws/client on its own WebSocket and streams a reply', async () => {
    expectRoundTrip(
      (await runCommand(join(repoRoot, 'node_modules/.bin/bun'), ['run', 'bun-client.ts', server.url], { cwd: app }))
        .stdout,
    );
  });

  it.each(['nodenext', 'bundler'])(
    'TypeScript from `npm i typescript` type-checks against the published .d.ts (moduleResolution %s)',
    async (resolution) => {
      const tsc = join(app, 'node_modules/.bin/tsc');
      expect((await runCommand(tsc, ['--version'], { cwd: app })).stdout).toMatch(/Version [7-9]\./);
      await runCommand(tsc, ['-p', `tsconfig.${resolution}.json`], { cwd: app });
    },
    60_000,
  );

  it('and TypeScript rejects code that misuses them, so the check above can fail', async () => {
    const failure = await runCommand(join(app, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.type-error.json'], {
      cwd: app,
    }).then(
      () => 'compiled',
      (error: unknown) => (error as Error).message,
    );
    expect(failure).toMatch(/type-error\/index\.ts.*error TS2322: Type 'number' is not assignable to type 'string'/);
  }, 60_000);
});
