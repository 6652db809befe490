/**
 * The built docs site (`npm run docs:build`) in Debian's Chromium, as a reader uses it: every guide
 * and reference page renders its title with no uncaught error, the local search finds a guide
 * from a typed word, and every guide, with its wide tables and code, reads on a phone (nothing
 * wider than the screen but the blocks that scroll on their own). CI builds the site in the stage before;
 * run alone, the test builds it when docs/.vitepress/dist is missing.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { describeWithBrowser, launchChromium, type PageReport, watchPage } from './browser-harness';

const repoRoot = join(__dirname, '..', '..');
const dist = join(repoRoot, 'docs', '.vitepress', 'dist');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
};

/** The site's files over HTTP, as a static host serves them (`/guide/node` is guide/node.html). */
function serveSite(): Promise<Server> {
  const server = createServer((request, response) => {
    const path = normalize(decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname));
    const file = [join(dist, path), `${join(dist, path)}.html`, join(dist, path, 'index.html')].find(
      (candidate) => candidate.startsWith(dist) && existsSync(candidate) && statSync(candidate).isFile(),
    );
    if (!file) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    response.end(readFileSync(file));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const PAGES = [
  ['/', 'llm-ws'],
  ['/guide/getting-started.html', 'Getting started'],
  ['/guide/node.html', 'Node server'],
  ['/guide/browser.html', 'Browser client'],
  ['/guide/conversations.html', 'Conversations'],
  ['/guide/angular.html', 'Angular'],
  ['/guide/rxjs.html', 'RxJS recipes and testing'],
  ['/guide/human-in-the-loop.html', 'Human in the loop'],
  ['/guide/scaling.html', 'Scaling'],
  ['/guide/security.html', 'Security and limits'],
  ['/guide/operations.html', 'Operations'],
  ['/guide/ai-sdk-ag-ui.html', 'The AI SDK and AG-UI'],
  ['/guide/cli.html', 'The CLI'],
  ['/guide/contributing.html', 'Development and benchmark'],
  ['/PROTOCOL.html', 'The llm-ws protocol'],
  ['/SCALING.html', 'Running several llm-ws processes'],
  ['/ARCHITECTURE.html', 'Architecture'],
  ['/changelog.html', 'Changelog'],
  ['/api/', 'llm-ws'],
  ['/api/client/functions/retryWithBackoff.html', 'retryWithBackoff'],
] as const;

describeWithBrowser('the docs site in Chromium', () => {
  let browser: Browser;
  let site: Server;
  let origin: string;
  let page: Page | undefined;
  let report: PageReport;

  const open = async (path: string, viewport = { width: 1280, height: 800 }): Promise<Page> => {
    page = await browser.newPage({ viewport });
    report = await watchPage(page);
    await page.goto(`${origin}${path}`);
    return page;
  };

  beforeAll(async () => {
    if (!existsSync(join(dist, 'index.html'))) {
      execFileSync('npm', ['run', 'docs:build'], { cwd: repoRoot, stdio: 'ignore', timeout: 600_000 });
    }
    site = await serveSite();
    origin = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
    browser = await launchChromium();
  }, 660_000);
  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => site?.close(resolve));
  });
  afterEach(async () => {
    await page?.close();
    page = undefined;
    expect(report.pageErrors).toEqual([]);
  });

  it.each(PAGES)(
    'renders %s with its title',
    async (path, title) => {
      const shown = await open(path);
      const heading = path === '/' ? shown.locator('.VPHero .name') : shown.locator('.vp-doc h1').first();
      await heading.waitFor();
      await expect(heading.textContent()).resolves.toContain(title);
      await expect(shown.locator('.VPSidebar, .VPHero').first().isVisible()).resolves.toBe(true);
    },
    60_000,
  );

  it('finds a guide from a word typed in the local search', async () => {
    const shown = await open('/guide/getting-started.html');
    await shown.locator('.VPNavBarSearch button').click();
    await shown.locator('.VPLocalSearchBox input').fill('memory bounds');
    const result = shown.locator('.VPLocalSearchBox .results li', { hasText: 'Memory bounds' }).first();
    await result.waitFor();
    await result.click();
    await shown.waitForURL(/\/guide\/security\.html#memory-bounds$/);
    await shown.locator('h2#memory-bounds').waitFor();
  }, 60_000);

  it.each(PAGES.filter(([path]) => path.startsWith('/guide/')).map(([path]) => path))(
    'reads on a phone: %s (wide tables and code) is no wider than the screen',
    async (path) => {
      const shown = await open(path, { width: 375, height: 740 });
      await shown.locator('.vp-doc h1').waitFor();
      const { scrollWidth, clientWidth } = await shown.evaluate(() => ({
        scrollWidth: document.documentElement.scrollWidth,
        clientWidth: document.documentElement.clientWidth,
      }));
      expect(scrollWidth).toBeLessThanOrEqual(clientWidth);
      // The sidebar waits off the screen behind the menu button, and the text is the screen's width.
      const sidebar = await shown.locator('.VPSidebar').evaluate((element) => element.getBoundingClientRect().right);
      expect(sidebar).toBeLessThanOrEqual(0);
      const textWidth = await shown
        .locator('.vp-doc p')
        .first()
        .evaluate((element) => element.getBoundingClientRect().width);
      expect(textWidth).toBeGreaterThan(300);
    },
    60_000,
  );
});
