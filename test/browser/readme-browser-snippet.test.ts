/**
 * The browser guide's no-bundler browser snippet, as a user follows it: its `chat.js` and the built
 * `llm-ws-client.js` copied into the `demoDir` of a WSServer of their own, loaded by a page there
 * in Chromium, under the CSP every `demoDir` file gets. And why the guide says "a file of its
 * own": the same code inline is refused by that CSP.
 */
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { offlineProvider } from '../../src/llm/offline-provider';
import { silentLogger } from '../../src/server/logger';
import { WSServer } from '../../src/server/ws-server';
import { waitUntilTrue } from '../utils/wait-until';
import {
  artifacts,
  buildDemoFor,
  describeWithBrowser,
  launchChromium,
  type PageReport,
  watchPage,
} from './browser-harness';

/** The `chat.js` block of the browser guide (docs/guide/browser.md). */
function readmeChatModule(): string {
  const readme = readFileSync(join(__dirname, '..', '..', 'docs', 'guide', 'browser.md'), 'utf8');
  const block = [...readme.matchAll(/```js\n([\s\S]*?)```/g)]
    .map((match) => match[1] as string)
    .find((code) => code.startsWith('// chat.js'));
  if (!block) throw new Error("docs/guide/browser.md has no ```js block starting with '// chat.js'");
  return block;
}

describeWithBrowser("the browser guide's snippet on a WSServer's demoDir", () => {
  let browser: Browser;
  let server: WSServer | undefined;
  let page: Page | undefined;
  let demoDir: string;

  const serve = async (indexHtml: string): Promise<{ page: Page; report: PageReport }> => {
    writeFileSync(join(demoDir, 'index.html'), indexHtml);
    // WSServer reads demoDir when it starts.
    server = new WSServer({ port: 0, hostname: '127.0.0.1', logger: silentLogger, llm: offlineProvider(), demoDir });
    const { port } = await server.start().then(() => server!.endpoint);
    page = await browser.newPage();
    const report = await watchPage(page);
    await page.goto(`http://127.0.0.1:${port}/`);
    return { page, report };
  };

  beforeAll(async () => {
    const built = await buildDemoFor('readme-browser-snippet-build');
    demoDir = join(artifacts, 'readme-browser-snippet-app');
    rmSync(demoDir, { recursive: true, force: true });
    mkdirSync(demoDir, { recursive: true });
    // What the guide says to do: copy the client module beside the page.
    copyFileSync(join(built, 'llm-ws-client.js'), join(demoDir, 'llm-ws-client.js'));
    writeFileSync(join(demoDir, 'chat.js'), readmeChatModule());
    browser = await launchChromium();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    rmSync(demoDir, { recursive: true, force: true });
  });
  afterEach(async () => {
    await page?.close();
    page = undefined;
    await server?.stop();
    server = undefined;
  });

  it('streams the answer into the page, with nothing refused and no error', async () => {
    const { page, report } = await serve(
      '<!doctype html><title>chat</title><pre id="out"></pre><script type="module" src="/chat.js"></script>',
    );
    await page.waitForFunction(() => (document.querySelector('#out')?.textContent ?? '').length > 0);
    expect(report.cspViolations).toEqual([]);
    expect(report.pageErrors).toEqual([]);
  });

  it('is refused by the CSP when the same code is inline, as the guide warns', async () => {
    const inline = `<!doctype html><title>chat</title><pre id="out"></pre><script type="module">${readmeChatModule()}</script>`;
    const { page, report } = await serve(inline);
    await waitUntilTrue(() => report.cspViolations.length > 0, 10_000);
    expect(report.cspViolations.join('\n')).toMatch(/script-src/);
    expect(await page.locator('#out').textContent()).toBe('');
  });
});
