import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { offlineProvider } from '../../src/llm/offline-provider';
import { silentLogger } from '../../src/server/logger';
import { WSServer } from '../../src/server/ws-server';
import { sqlitePathIn, sqliteStore } from '../../src/store/sqlite';
import {
  artifacts,
  buildDemoFor,
  describeWithBrowser,
  launchChromium,
  type PageReport,
  watchPage,
} from './browser-harness';

/**
 * The demo page's conversations in Chromium, on the SQLite store `llm-ws serve` uses by default:
 * the sidebar (new, list, open, rename, delete) across a server restart, and Regenerate, Edit and
 * the branch switcher on the messages.
 */
describeWithBrowser('demo page conversations in Chromium', () => {
  let browser: Browser;
  let server: WSServer | undefined;
  let page: Page | undefined;
  let report: PageReport;
  let demoDir: string;
  let dataDir: string;

  /** A server on the SQLite file of `dataDir`, as `llm-ws serve --data-dir` keeps it. */
  const startServer = async (port = 0): Promise<WSServer> => {
    server = new WSServer({
      port,
      hostname: '127.0.0.1',
      logger: silentLogger,
      llm: offlineProvider({ chunkDelayMs: 0 }),
      store: sqliteStore({ path: sqlitePathIn(dataDir) }),
      demoDir,
    });
    await server.start();
    return server;
  };

  beforeAll(async () => {
    demoDir = await buildDemoFor('demo-build-conversations');
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'llm-ws-demo-'));
  });
  afterEach(async () => {
    await page?.close();
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
    expect(report.cspViolations).toEqual([]);
    expect(report.pageErrors).toEqual([]);
    expect(report.dialogs).toEqual([]);
  });

  const ask = async (question: string, answer: string): Promise<void> => {
    const p = page as Page;
    const before = await p.locator('.assistant .message-controls').count();
    await p.locator('#input').fill(question);
    await p.keyboard.press('Enter');
    await p.locator('.assistant .bubble:not(.streaming)', { hasText: answer }).waitFor();
    // The controls come once the reply's ids are known.
    await p.waitForFunction((n) => document.querySelectorAll('.assistant .message-controls').length > n, before);
  };
  const bubbles = async (role: string): Promise<string[]> =>
    (await (page as Page).locator(`${role} .bubble`).allTextContents()).map((text) => text.trim());
  const titles = (): Promise<string[]> =>
    (page as Page).locator('#conversation-list .conversation-title').allTextContents();

  it('regenerates, edits and switches branches on the messages', async () => {
    await startServer();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    report = await watchPage(page);
    await page.goto(`http://127.0.0.1:${server?.port}/`);
    await page.locator('#connection[data-state="connected"]').waitFor();
    await ask('What is 2+3*4?', '2+3*4 = 14');

    await page.locator('.assistant .regenerate').click();
    await page.locator('.assistant .branch-position', { hasText: '2/2' }).waitFor();
    await page.locator('.assistant .branch-previous').click();
    await page.locator('.assistant .branch-position', { hasText: '1/2' }).waitFor();
    await page.locator('.assistant .branch-next').click();
    await page.locator('.assistant .branch-position', { hasText: '2/2' }).waitFor();

    await page.locator('.user .edit').click();
    await page.locator('.edit-field').fill('What is 6*7?');
    await page.locator('.edit-form .primary').click();
    await page.locator('.user .branch-position', { hasText: '2/2' }).waitFor();
    await expect(page.locator('.user .bubble').allTextContents()).resolves.toEqual(['What is 6*7?']);
    await expect(bubbles('.assistant')).resolves.toEqual(['6*7 = 42']);
    await page.screenshot({ path: join(artifacts, 'demo-branches.png') });
    // Back to the first question: its reply, with its own two branches.
    await page.locator('.user .branch-previous').click();
    await page.locator('.user .bubble', { hasText: 'What is 2+3*4?' }).waitFor();
    await expect(page.locator('.assistant .branch-position').textContent()).resolves.toBe('2/2');
  }, 60_000);

  it('lists, renames (as text), opens and deletes conversations, also after the server restarts', async () => {
    await startServer();
    const port = server?.port as number;
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    report = await watchPage(page);
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.locator('#connection[data-state="connected"]').waitFor();
    await ask('What is 2+3*4?', '2+3*4 = 14');
    await page.waitForFunction(() => document.querySelectorAll('#conversation-list .conversation').length === 1);
    await expect(titles()).resolves.toEqual(['What is 2+3*4?']);

    const hostile = '<img src=x onerror=alert(1)>';
    await page.locator('.conversation [aria-label="Rename"]').click();
    await page.locator('.conversation-rename').fill(hostile);
    await page.locator('.conversation-rename').press('Enter');
    await page.locator('.conversation-title', { hasText: hostile }).waitFor();
    await expect(page.locator('#sidebar img').count()).resolves.toBe(0);

    await page.locator('#new-conversation').click();
    await page.locator('#empty h1', { hasText: 'New conversation' }).waitFor();
    await page.locator('#connection[data-state="connected"]').waitFor();
    await ask('What is 6*7?', '6*7 = 42');
    await page.waitForFunction(() => document.querySelectorAll('#conversation-list .conversation').length === 2);
    await expect(titles()).resolves.toEqual(['What is 6*7?', hostile]);

    // The server stops and starts again on the same file; the page reconnects, and a reload shows the
    // conversation it was on and lists them all.
    await server?.stop();
    await page.locator('#connection:not([data-state="connected"])').waitFor();
    await startServer(port);
    await page.locator('#connection[data-state="connected"]').waitFor({ timeout: 15_000 });
    await page.reload();
    await page.locator('#connection[data-state="connected"]').waitFor();
    await page.waitForFunction(() => document.querySelectorAll('#conversation-list .conversation').length === 2);
    await expect(titles()).resolves.toEqual(['What is 6*7?', hostile]);
    await page.locator('.assistant .bubble', { hasText: '6*7 = 42' }).waitFor();

    await page.locator('.conversation-title', { hasText: hostile }).click();
    await page.locator('.assistant .bubble', { hasText: '2+3*4 = 14' }).waitFor();
    await expect(page.locator('.user .bubble').allTextContents()).resolves.toEqual(['What is 2+3*4?']);
    await page.locator('.conversation.current .conversation-title', { hasText: hostile }).waitFor();
    await page.screenshot({ path: join(artifacts, 'demo-conversations.png') });

    await page.locator('.conversation', { hasText: '6*7' }).locator('[aria-label="Delete"]').click();
    await page.waitForFunction(() => document.querySelectorAll('#conversation-list .conversation').length === 1);
    await expect(titles()).resolves.toEqual([hostile]);
  }, 90_000);
});
