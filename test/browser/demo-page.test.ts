import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { offlineProvider } from '../../src/llm/offline-provider';
import { DEMO_CONTENT_SECURITY_POLICY } from '../../src/server/demo-headers';
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

/**
 * The demo page in Debian's Chromium, as a person uses it: type, press Enter, watch the answer
 * stream with its tool call; press Stop; lose the server and watch the page reconnect, or give
 * up and offer Reconnect. Every test ends with no CSP violation and no uncaught error.
 */
describeWithBrowser('demo page in Chromium', () => {
  let browser: Browser;
  let server: WSServer;
  let page: Page;
  let report: PageReport;
  let demoDir: string;

  const startServer = async (port = 0): Promise<WSServer> => {
    server = new WSServer({
      port,
      hostname: '127.0.0.1',
      logger: silentLogger,
      llm: offlineProvider({ chunkDelayMs: 40 }),
      demoDir,
    });
    await server.start();
    return server;
  };
  const openPage = async (before?: (page: Page) => Promise<void>): Promise<void> => {
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    report = await watchPage(page);
    await before?.(page);
    await page.goto(`http://127.0.0.1:${server.port}/`);
    await page.locator('#connection[data-state="connected"]').waitFor();
  };
  const bubbleText = async (): Promise<string> =>
    ((await page.locator('.assistant .bubble').textContent()) ?? '').trim();

  beforeAll(async () => {
    demoDir = await buildDemoFor('demo-build-page');
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });
  beforeEach(async () => {
    await startServer();
  });
  afterEach(async () => {
    await page?.close();
    await server?.stop();
    expect(report.cspViolations).toEqual([]);
    expect(report.pageErrors).toEqual([]);
    expect(report.dialogs).toEqual([]);
  });

  it('streams an answer with its tool call, on a desktop and a phone-sized screen', async () => {
    await openPage();
    await page.locator('#input').fill('What is 2+3*4?');
    await page.keyboard.press('Enter');
    await page.locator('.tool[data-state="complete"]').waitFor();
    await expect(page.locator('.tool .tool-args').textContent()).resolves.toBe('{"expression":"2+3*4"}');
    await expect(page.locator('.tool .tool-result').textContent()).resolves.toBe(
      '→ {"expression":"2+3*4","result":14}',
    );
    await page.locator('.assistant .bubble:not(.streaming)').waitFor();
    await expect(bubbleText()).resolves.toBe('2+3*4 = 14');
    // The usage over its two model calls (the offline model reports none for its tool call: estimated, marked ~).
    await expect(page.locator('.assistant .meta').textContent()).resolves.toMatch(/^~\d+ in · ~\d+ out tokens$/);
    await expect(page.locator('.user .bubble').textContent()).resolves.toBe('What is 2+3*4?');
    await page.screenshot({ path: join(artifacts, 'demo-desktop.png') });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: join(artifacts, 'demo-phone.png') });
  });

  it('stops a reply with the Stop button, keeping what was written', async () => {
    await openPage();
    await page.locator('#input').fill('Tell me a long story');
    await page.keyboard.press('Enter');
    await page.locator('#stop:not([hidden])').waitFor();
    await page.waitForFunction(
      () => (document.querySelector('.assistant .bubble')?.textContent ?? '').split(' ').length > 5,
    );
    await page.locator('#stop').click();
    await page.locator('.meta.stopped').waitFor();
    const text = await bubbleText();
    expect(text.length).toBeGreaterThan(10);
    expect(text).not.toContain('restart the server.'); // the end of the offline model's full answer
    await page.locator('#send:not([hidden])').waitFor();
  });

  it('shows the connection dropping and coming back when the server restarts', async () => {
    await openPage();
    const port = server.port as number;
    await server.stop();
    await page.locator('#connection[data-state="reconnecting"]').waitFor();
    await expect(page.locator('#connection-text').textContent()).resolves.toMatch(/^Reconnecting/);
    await page.screenshot({ path: join(artifacts, 'demo-reconnecting.png') });
    // A message sent meanwhile waits for the connection; Stop takes it back into the input.
    await page.locator('#input').fill('Are you there?');
    await page.keyboard.press('Enter');
    await page.locator('.assistant .bubble.streaming').waitFor();
    await page.locator('#stop').click();
    await page.locator('#send:not([hidden])').waitFor();
    await expect(page.locator('.turn').count()).resolves.toBe(0);
    await expect(page.locator('#input').inputValue()).resolves.toBe('Are you there?');
    await page.locator('#input').fill('');
    await startServer(port);
    await page.locator('#connection[data-state="connected"]').waitFor({ timeout: 15_000 });
    await page.locator('#input').fill('What is 6*7?');
    await page.keyboard.press('Enter');
    await page.locator('.assistant .bubble:not(.streaming)').waitFor();
    await expect(bubbleText()).resolves.toBe('6*7 = 42');
  });

  it('offers Reconnect after the client gives up, instead of an empty reply, and reconnects', async () => {
    // The page's clock is Playwright's, so the backoff of ten reconnect attempts passes in moments.
    await openPage((page) => page.clock.install());
    const port = server.port as number;
    await server.stop();
    const reconnect = page.locator('#reconnect');
    for (let round = 0; !(await reconnect.isVisible()); round++) {
      if (round > 40) throw new Error('the page never gave up reconnecting');
      await page.clock.runFor(35_000); // past the longest backoff delay (30 s) and its jitter
      await reconnect.waitFor({ timeout: 250 }).catch(() => undefined); // the refused socket's events are real time
    }
    await expect(page.locator('#notice-text').textContent()).resolves.toBe('The server cannot be reached.');
    await expect(page.locator('#connection').getAttribute('data-state')).resolves.toBe('disconnected');

    await page.locator('#input').fill('hello?');
    await page.keyboard.press('Enter');
    // Nothing was sent: no bubble, the words stay in the input, and the notice offers Reconnect.
    await expect(page.locator('.turn').count()).resolves.toBe(0);
    await expect(page.locator('#input').inputValue()).resolves.toBe('hello?');
    await expect(page.locator('#notice-text').textContent()).resolves.toBe('Not connected to the server.');
    await expect(reconnect.isVisible()).resolves.toBe(true);
    await expect(page.locator('#stop').isHidden()).resolves.toBe(true);
    await page.screenshot({ path: join(artifacts, 'demo-gave-up.png') });

    await startServer(port);
    await reconnect.click();
    await page.locator('#connection[data-state="connected"]').waitFor();
    await expect(page.locator('#notice').isHidden()).resolves.toBe(true);
    await page.locator('#input').press('Enter');
    await page.locator('.assistant .bubble:not(.streaming)').waitFor();
    await expect(page.locator('.user .bubble').textContent()).resolves.toBe('hello?');
    await expect(bubbleText()).resolves.toMatch(/^I'm the offline demo model of llm-ws/);
  }, 60_000);

  it('serves the page and every asset with the security headers, and a favicon', async () => {
    await openPage();
    const base = `http://127.0.0.1:${server.port}`;
    const assets = ['/', '/app.js', '/markdown.js', '/llm-ws-client.js', '/styles.css', '/favicon.svg'];
    for (const path of assets) {
      const response = await page.request.get(`${base}${path}`);
      expect([path, response.status()]).toEqual([path, 200]);
      expect(response.headers()).toMatchObject({
        'content-security-policy': DEMO_CONTENT_SECURITY_POLICY,
        'x-frame-options': 'DENY',
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
      });
    }
    expect(DEMO_CONTENT_SECURITY_POLICY).toMatch(/script-src 'self'(;|$)/);
    expect(DEMO_CONTENT_SECURITY_POLICY).not.toMatch(/unsafe-inline|unsafe-eval/);
    expect(DEMO_CONTENT_SECURITY_POLICY).toMatch(/frame-ancestors 'none'/);
    expect((await page.request.get(`${base}/favicon.svg`)).headers()['content-type']).toBe('image/svg+xml');
    // The page names its icon, so the browser asks for nothing that is not there.
    await expect(page.locator('link[rel="icon"]').getAttribute('href')).resolves.toBe('/favicon.svg');
    await expect(page.locator('script:not([src])').count()).resolves.toBe(0);
    // The policy is in force: an inline script injected into the page does not run, and is reported.
    await page
      .evaluate(() => {
        const script = document.createElement('script');
        script.src = 'data:text/javascript,window.__injected=1';
        document.body.append(script);
      })
      .catch(() => undefined);
    await waitUntilTrue(() => report.cspViolations.length > 0);
    await expect(
      page.evaluate(() => (window as unknown as { __injected?: number }).__injected),
    ).resolves.toBeUndefined();
    report.cspViolations.length = 0;
    // A page that frames the demo gets nothing: the browser refuses it (frame-ancestors).
    const framed = await browser.newPage();
    const refused = new Promise<string>((resolve) => framed.on('console', (message) => resolve(message.text())));
    await framed.setContent(`<iframe src="${base}/"></iframe>`);
    await expect(refused).resolves.toMatch(/frame-ancestors|X-Frame-Options/);
    await framed.close();
  });
});
