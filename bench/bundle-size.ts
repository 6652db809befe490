/**
 * `npm run size`: what a minimal browser app that connects and streams one reply costs, gzipped,
 * with llm-ws's client beside the same app on socket.io-client and on graphql-ws, in one run.
 *
 * Each app is bundled by esbuild as a user's production build would be (browser platform, ESM,
 * minified, tree-shaken) and gzipped at level 9. llm-ws is taken from the built dist/ through the
 * package's own `exports` and `sideEffects` (the package is linked into a temporary node_modules,
 * so the bundler resolves `llm-ws/client` as it does in a user's app); rxjs is counted in.
 *
 * The llm-ws app (the lean `ReactiveClient`, as the README's minimal app) is measured twice: as
 * esbuild and Vite resolve rxjs by default (its ES5 build, with tslib), and as the Angular CLI
 * resolves it (the `es2015` export condition: rxjs's ES2015 build, without tslib). The budget
 * applies to the first. The same app on `WSClient` (the callback API, controls, conversations) is
 * the second figure, and once more with approvals and client tools opted in (`humanInTheLoop`):
 * what that adds is the `human-in-the-loop` figure of the docs.
 *
 * `--budget=BYTES` exits 1 when llm-ws's gzipped app is larger (CI runs it with 12,288
 * bytes, 12 KiB: issue 26's target, and a guard against regressions).
 * `--json` prints the figures as JSON.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const root = join(__dirname, '..');

/** The minimal app as the README writes it: the lean `ReactiveClient`, connect, send, stream one reply. */
const LLM_WS_APP = `
import { ReactiveClient } from 'llm-ws/client';
const client = new ReactiveClient({ url: 'ws://localhost:8080/ws' });
client.chunks$.subscribe(({ chunk }) => document.body.append(chunk));
client.connect().then(() => client.sendMessage('Hello!'));
`;

/** The same app on `WSClient` (the callback API, controls, conversations; approvals opt-in): the second figure. */
const LLM_WS_CLIENT_APP = `
import { WSClient } from 'llm-ws/client';
const client = new WSClient({ url: 'ws://localhost:8080/ws' });
client.chunks$.subscribe(({ chunk }) => document.body.append(chunk));
client.connect().then(() => client.sendMessage('Hello!'));
`;

/** The llm-ws app with approvals and client tools (opt-in: `humanInTheLoop`), for what they add. */
const LLM_WS_HUMAN_IN_THE_LOOP_APP = `
import { WSClient, humanInTheLoop } from 'llm-ws/client';
const client = new WSClient({ url: 'ws://localhost:8080/ws', humanInTheLoop });
client.chunks$.subscribe(({ chunk }) => document.body.append(chunk));
client.approvals$.subscribe((request) => client.approve(request.toolCallId));
client.connect().then(() => client.sendMessage('Hello!'));
`;

/**
 * The same app on each client: connect, send "Hello!", append each chunk of the reply to the
 * page. `conditions` are export conditions the bundler resolves besides its defaults.
 */
const APPS: Record<string, { source: string; conditions?: string[] }> = {
  'llm-ws': { source: LLM_WS_APP },
  // esbuild drops its default `module` condition when given others: kept, as a bundler keeps it.
  'llm-ws (rxjs es2015)': { source: LLM_WS_APP, conditions: ['es2015', 'module'] },
  'llm-ws WSClient': { source: LLM_WS_CLIENT_APP },
  'llm-ws WSClient + humanInTheLoop': { source: LLM_WS_HUMAN_IN_THE_LOOP_APP },
  'socket.io-client': {
    source: `
import { io } from 'socket.io-client';
const socket = io('http://localhost:8080');
socket.on('chunk', (chunk) => document.body.append(chunk));
socket.on('connect', () => socket.emit('message', 'Hello!'));
`,
  },
  'graphql-ws': {
    source: `
import { createClient } from 'graphql-ws';
const client = createClient({ url: 'ws://localhost:8080/graphql' });
client.subscribe(
  { query: 'subscription { reply(text: "Hello!") { chunk } }' },
  { next: ({ data }) => document.body.append(data.reply.chunk), error: (error) => console.error(error), complete: () => {} },
);
`,
  },
};

export interface BundleSize {
  readonly app: string;
  readonly minifiedBytes: number;
  readonly gzippedBytes: number;
  /** The packages whose files went into the bundle. */
  readonly packages: string[];
}

async function bundle(dir: string, app: string, source: string, conditions: string[] = []): Promise<BundleSize> {
  const entry = join(dir, `${app.replace(/\W+/g, '-')}.js`);
  writeFileSync(entry, source);
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    minify: true,
    write: false,
    metafile: true,
    logLevel: 'silent',
    absWorkingDir: dir,
    conditions,
  });
  const code = result.outputFiles[0]?.contents ?? new Uint8Array();
  const packages = new Set<string>();
  const output = Object.values(result.metafile.outputs)[0];
  for (const [input, { bytesInOutput }] of Object.entries(output?.inputs ?? {})) {
    if (bytesInOutput === 0) continue;
    const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
    packages.add(
      match ? (match[1] as string) : input.startsWith('dist/') || input.includes('/dist/') ? 'llm-ws' : 'app',
    );
  }
  return {
    app,
    minifiedBytes: code.length,
    gzippedBytes: gzipSync(code, { level: 9 }).length,
    packages: [...packages].sort(),
  };
}

export async function measureBundleSizes(): Promise<BundleSize[]> {
  if (!existsSync(join(root, 'dist/client.mjs'))) throw new Error('dist/ is not built: run npm run build first');
  const dir = mkdtempSync(join(tmpdir(), 'llm-ws-size-'));
  try {
    // The package under its own name, as a dependency of the app; everything else from the repo's node_modules.
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(root, join(dir, 'node_modules/llm-ws'), 'dir');
    // The bundler follows links to where the packages really are, and finds their own dependencies there.
    for (const name of ['socket.io-client', 'graphql-ws'])
      symlinkSync(join(root, 'node_modules', name), join(dir, 'node_modules', name), 'dir');
    const sizes: BundleSize[] = [];
    for (const [app, { source, conditions }] of Object.entries(APPS))
      sizes.push(await bundle(dir, app, source, conditions));
    return sizes;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const kb = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KB`;

if (require.main === module) {
  const budget = Number(process.argv.find((arg) => arg.startsWith('--budget='))?.slice('--budget='.length) ?? NaN);
  measureBundleSizes().then(
    (sizes) => {
      if (process.argv.includes('--json')) {
        console.log(JSON.stringify(sizes, null, 2));
      } else {
        console.log(
          'Minimal browser app (connect, send one message, show the streamed reply), esbuild --minify, gzip -9:',
        );
        console.log('| client | minified | gzipped | packages bundled |');
        console.log('| --- | ---: | ---: | --- |');
        for (const size of sizes) {
          console.log(
            `| ${size.app} | ${kb(size.minifiedBytes)} | ${kb(size.gzippedBytes)} (${size.gzippedBytes} B) | ${size.packages.join(', ')} |`,
          );
        }
      }
      const ours = sizes.find((size) => size.app === 'llm-ws');
      if (ours && Number.isFinite(budget) && ours.gzippedBytes > budget) {
        console.error(`llm-ws's minimal app is ${ours.gzippedBytes} bytes gzipped, over the budget of ${budget}`);
        process.exit(1);
      }
    },
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
