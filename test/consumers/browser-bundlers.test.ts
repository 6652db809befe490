import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { haveChromium, launchChromium, roundTripInPage, roundTripScript, serveStatic } from './browser';
import { makeConsumerApp, makeTempDir, packOnce, removeDir, repoRoot, runCommand } from './pack';
import { type InstalledServer, serveInstalled } from './serve';
import { OFFLINE_HELP_TEXT } from '../../src/llm/offline-provider';

/**
 * A browser app that depends on the packed llm-ws, built by esbuild and by Vite (the repo's own
 * copies of both, run in the app's folder so they resolve llm-ws from its node_modules), and the
 * no-bundler page (`<script type="module">` with an import map, or straight from `llm-ws serve`),
 * each run in Chromium against `llm-ws serve` from the same installed package; and the browser
 * guide's import-map page (docs/guide/browser.md) as it is written, beside the installed package.
 */
const describeWithBrowser = haveChromium ? describe : describe.skip;

/** What only the server needs: none of it may reach a browser bundle. */
const SERVER_ONLY = /node_modules\/(ws|openai|ioredis|prom-client|ajv|commander|eventsource-parser)\//;

const page = (body: string, head = ''): string =>
  `<!doctype html><html><head><meta charset="utf-8">${head}</head><body>${body}</body></html>\n`;
const EXPECTED = { fullText: '2+3*4 = 14', streamed: '2+3*4 = 14' };

/** The browser guide's ```html block with the import map, as a user copies it into a page. */
function guideImportMapPage(): string {
  const guide = readFileSync(join(repoRoot, 'docs', 'guide', 'browser.md'), 'utf8');
  const block = [...guide.matchAll(/^( *)```html\n([\s\S]*?)^\1```$/gm)]
    .map((match) => match[2] as string)
    .find((html) => html.includes('type="importmap"'));
  if (!block) throw new Error('docs/guide/browser.md has no ```html block with an import map');
  return block;
}

describeWithBrowser('the packed llm-ws in browser apps', () => {
  let dir: string;
  let app: string;
  let server: InstalledServer;
  let browser: Browser;
  let site: { origin: string; close(): Promise<void> } | undefined;

  beforeAll(async () => {
    dir = makeTempDir('browser-consumer');
    const tarball = await packOnce();
    app = await makeConsumerApp(join(dir, 'app'), tarball, {
      files: {
        'src/main.js': roundTripScript('llm-ws/client'),
        'index.html': page('<script type="module" src="/src/main.js"></script>'),
        'import-map.html': page(
          `<script type="module">\n${roundTripScript('llm-ws/client')}</script>`,
          '<script type="importmap">{ "imports": { "llm-ws/client": "/node_modules/llm-ws/dist/demo/llm-ws-client.js" } }</script>',
        ),
      },
    });
    [server, browser] = await Promise.all([serveInstalled(app), launchChromium()]);
  }, 300_000);
  afterEach(async () => {
    await site?.close();
    site = undefined;
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    removeDir(dir);
  });

  const run = async (folder: string, file = 'index.html'): Promise<unknown> => {
    site = await serveStatic(folder);
    return roundTripInPage(browser, `${site.origin}/${file}?ws=${encodeURIComponent(server.url)}`);
  };

  it('esbuild --platform=browser bundles it with no warnings, nothing of the server, and it streams a reply in Chromium', async () => {
    const out = join(app, 'out-esbuild');
    const { stderr } = await runCommand(
      join(repoRoot, 'node_modules/.bin/esbuild'),
      [
        'src/main.js',
        '--bundle',
        '--platform=browser',
        '--format=esm',
        '--minify',
        `--outfile=${join(out, 'main.js')}`,
        `--metafile=${join(out, 'meta.json')}`,
        '--log-level=warning',
      ],
      { cwd: app },
    );
    expect(stderr).toBe('');
    const inputs = Object.keys((JSON.parse(readFileSync(join(out, 'meta.json'), 'utf8')) as { inputs: object }).inputs);
    expect(inputs.filter((input) => SERVER_ONLY.test(input) || input.startsWith('node:'))).toEqual([]);
    expect(inputs).toContainEqual(expect.stringMatching(/node_modules\/llm-ws\/dist\/client\.mjs$/));
    writeFileSync(join(out, 'index.html'), page('<script type="module" src="main.js"></script>'));
    await expect(run(out)).resolves.toEqual(EXPECTED);
  }, 60_000);

  it('a Vite build of it streams a reply in Chromium', async () => {
    const { stdout, stderr } = await runCommand(
      process.execPath,
      [join(repoRoot, 'node_modules/vite/bin/vite.js'), 'build', '--outDir', 'out-vite'],
      {
        cwd: app,
        env: { NO_COLOR: '1' },
      },
    );
    expect(stderr).toBe('');
    expect(stdout).not.toMatch(/warn|externalized for browser compatibility/i);
    const bundled = readFileSync(
      join(app, 'out-vite/assets', (stdout.match(/assets\/(index-[\w-]+\.js)/) ?? [])[1] ?? 'missing'),
      'utf8',
    );
    expect(bundled).not.toMatch(/require\("(ws|node:[a-z]+)"\)|from"(ws|openai|node:[a-z]+)"/);
    await expect(run(join(app, 'out-vite'))).resolves.toEqual(EXPECTED);
  }, 60_000);

  it('bun build --target=browser bundles it, and the bundle streams a reply in Chromium', async () => {
    const out = join(app, 'out-bun');
    await runCommand(
      join(repoRoot, 'node_modules/.bin/bun'),
      ['build', 'src/main.js', '--target=browser', '--minify', `--outdir=${out}`],
      { cwd: app },
    );
    const bundled = readFileSync(join(out, 'main.js'), 'utf8');
    expect(bundled).not.toMatch(/from"(ws|openai|node:[a-z]+)"|require\("(ws|node:[a-z]+)"\)/);
    writeFileSync(join(out, 'index.html'), page('<script type="module" src="main.js"></script>'));
    await expect(run(out)).resolves.toEqual(EXPECTED);
  }, 60_000);

  it('a plain <script type="module"> with an import map to the installed llm-ws/browser module streams a reply', async () => {
    await expect(run(app, 'import-map.html')).resolves.toEqual(EXPECTED);
  });

  it("the browser guide's import-map page, served beside the installed package, streams the offline model's answer into the page", async () => {
    const snippet = guideImportMapPage();
    expect(snippet).toContain('ws://localhost:3000/ws');
    // The guide's page talks to ws://localhost:3000/ws; here the installed server is elsewhere.
    writeFileSync(join(app, 'guide-import-map.html'), page(snippet.replace('ws://localhost:3000/ws', server.url)));
    site = await serveStatic(app);
    const shown = await browser.newPage();
    const errors: string[] = [];
    shown.on('pageerror', (error) => errors.push(error.message));
    try {
      await shown.goto(`${site.origin}/guide-import-map.html`);
      // "Hello!" gets the offline model's help text, streamed chunk by chunk into the body.
      await shown.waitForFunction((text) => document.body.textContent?.includes(text), OFFLINE_HELP_TEXT, {
        timeout: 20_000,
      });
      expect(errors).toEqual([]);
    } finally {
      await shown.close();
    }
  });

  it('a page on another origin imports the client straight from `llm-ws serve` (CORS), as the README shows', async () => {
    const other = join(dir, 'other-origin');
    mkdirSync(other);
    writeFileSync(
      join(other, 'index.html'),
      page(`<script type="module">\n${roundTripScript(`${server.httpOrigin}/llm-ws-client.js`)}</script>`),
    );
    await expect(run(other)).resolves.toEqual(EXPECTED);
  });
});
