import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { buildDemo } from '../../scripts/build-demo';
import { offlineProvider } from '../../src/llm/offline-provider';
import { silentLogger } from '../../src/server/logger';
import { WSServer } from '../../src/server/ws-server';

/**
 * The demo page in Debian's Chromium, as a person uses it: type, press Enter, watch the answer
 * stream with its tool call; press Stop; lose the server and watch the page reconnect.
 *
 * Without /usr/bin/chromium these tests are skipped with a message, unless LLM_WS_REQUIRE_BROWSER
 * is set (CI sets it, and installs Chromium first), in which case they fail.
 */
const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.LLM_WS_REQUIRE_BROWSER) throw new Error(`${CHROMIUM} is missing: apt-get install chromium`);
if (!haveChromium) console.warn(`skipping the browser tests: ${CHROMIUM} is missing (apt-get install chromium)`);
const describeWithBrowser = haveChromium ? describe : describe.skip;

const root = join(__dirname, '..', '..');
const artifacts = join(root, 'test-artifacts');
const demoDir = join(artifacts, 'demo-build');

describeWithBrowser('demo page in Chromium', () => {
  let browser: Browser;
  let server: WSServer;
  let page: Page;

  const startServer = async (port = 0): Promise<WSServer> => {
    server = new WSServer({ port, hostname: '127.0.0.1', logger: silentLogger, llm: offlineProvider({ chunkDelayMs: 40 }), demoDir });
    await server.start();
    return server;
  };

  beforeAll(async () => {
    mkdirSync(artifacts, { recursive: true });
    await buildDemo(demoDir);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });
  beforeEach(async () => {
    await startServer();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`http://127.0.0.1:${server.port}/`);
    await page.locator('#connection[data-state="connected"]').waitFor();
  });
  afterEach(async () => {
    await page?.close();
    await server?.stop();
  });

  it('streams an answer with its tool call, on a desktop and a phone-sized screen', async () => {
    await page.locator('#input').fill('What is 2+3*4?');
    await page.keyboard.press('Enter');
    await page.locator('.tool[data-state="complete"]').waitFor();
    await expect(page.locator('.tool .tool-args').textContent()).resolves.toBe('{"expression":"2+3*4"}');
    await expect(page.locator('.tool .tool-result').textContent()).resolves.toBe('→ {"expression":"2+3*4","result":14}');
    await page.locator('.assistant .bubble:not(.streaming)').waitFor();
    await expect(page.locator('.assistant .bubble').textContent()).resolves.toBe('2+3*4 = 14');
    await expect(page.locator('.user .bubble').textContent()).resolves.toBe('What is 2+3*4?');
    await page.screenshot({ path: join(artifacts, 'demo-desktop.png') });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: join(artifacts, 'demo-phone.png') });
  });

  it('stops a reply with the Stop button, keeping what was written', async () => {
    await page.locator('#input').fill('Tell me a long story');
    await page.keyboard.press('Enter');
    await page.locator('#stop:not([hidden])').waitFor();
    await page.waitForFunction(() => (document.querySelector('.assistant .bubble')?.textContent ?? '').split(' ').length > 5);
    await page.locator('#stop').click();
    await page.locator('.meta.stopped').waitFor();
    const text = (await page.locator('.assistant .bubble').textContent()) ?? '';
    expect(text.length).toBeGreaterThan(10);
    expect(text).not.toContain('restart the server.'); // the end of the offline model's full answer
    await page.locator('#send:not([hidden])').waitFor();
  });

  it('shows the connection dropping and coming back when the server restarts', async () => {
    const port = server.port as number;
    await server.stop();
    await page.locator('#connection[data-state="reconnecting"]').waitFor();
    await expect(page.locator('#connection-text').textContent()).resolves.toMatch(/^Reconnecting/);
    await page.screenshot({ path: join(artifacts, 'demo-reconnecting.png') });
    await startServer(port);
    await page.locator('#connection[data-state="connected"]').waitFor({ timeout: 15_000 });
    await page.locator('#input').fill('What is 6*7?');
    await page.keyboard.press('Enter');
    await page.locator('.assistant .bubble:not(.streaming)').waitFor();
    await expect(page.locator('.assistant .bubble').textContent()).resolves.toBe('6*7 = 42');
  });
});
