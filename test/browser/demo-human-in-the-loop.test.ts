import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { openAIProvider } from '../../src/llm/openai-provider';
import { silentLogger } from '../../src/server/logger';
import { WSServer } from '../../src/server/ws-server';
import { createOpenAITestServer, type OpenAITestServer } from '../../src/testing/node';
import {
  artifacts,
  buildDemoFor,
  describeWithBrowser,
  launchChromium,
  type PageReport,
  watchPage,
} from './browser-harness';

/**
 * The demo page's human in the loop, in Debian's Chromium with two tabs of one browser on one
 * conversation: a tool call waiting for approval shows Approve and Deny in both, either may
 * answer, both follow the reply; the model's reasoning shows in a collapsible Thinking block;
 * the page's own tool (get_browser_time) runs in the tab that asked, once.
 */
describeWithBrowser('demo page: two tabs, approvals, client tools, reasoning (Chromium)', () => {
  let browser: Browser;
  let context: BrowserContext;
  let upstream: OpenAITestServer;
  let server: WSServer;
  let demoDir: string;
  const tabs: Array<{ page: Page; report: PageReport }> = [];

  const openTab = async (): Promise<Page> => {
    const page = await context.newPage();
    const report = await watchPage(page);
    tabs.push({ page, report });
    await page.goto(`http://127.0.0.1:${server.port}/`);
    await page.locator('#connection[data-state="connected"]').waitFor();
    return page;
  };
  const send = async (page: Page, text: string): Promise<void> => {
    await page.locator('#input').fill(text);
    await page.keyboard.press('Enter');
  };
  const lastReply = (page: Page) => page.locator('.assistant').last();
  const replyText = async (page: Page): Promise<string> =>
    ((await lastReply(page).locator('.bubble').textContent()) ?? '').trim();

  beforeAll(async () => {
    demoDir = await buildDemoFor('demo-build-hitl');
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });
  beforeEach(async () => {
    upstream = await createOpenAITestServer();
    server = new WSServer({
      port: 0,
      hostname: '127.0.0.1',
      logger: silentLogger,
      demoDir,
      requireApproval: ['calculate'],
      llm: openAIProvider({ baseURL: upstream.baseURL, apiKey: 'k', maxRetries: 0 }),
    });
    await server.start();
    // One browser context: the tabs share localStorage, where the page keeps its session.
    context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
  });
  afterEach(async () => {
    await context?.close();
    await server?.stop();
    await upstream?.close();
    for (const { report } of tabs.splice(0)) {
      expect(report.cspViolations).toEqual([]);
      expect(report.pageErrors).toEqual([]);
      expect(report.dialogs).toEqual([]);
    }
  });

  it('keeps two tabs in sync: the approval asked in both, answered in the other, the reply and its Thinking in both', async () => {
    const first = await openTab();
    const second = await openTab();
    upstream.enqueue(
      {
        type: 'tool_calls',
        reasoning: ['Six times seven: ', 'ask the calculator.'],
        calls: [{ id: 'call_calc', name: 'calculate', arguments: { expression: '6*7' } }],
      },
      { type: 'text', chunks: ['It is ', '42.'] },
    );
    await send(first, 'What is 6*7?');
    for (const page of [first, second]) {
      await page
        .locator('.tool[data-state="approval_required"] .tool-approval button', { hasText: 'Approve' })
        .waitFor();
      await expect(page.locator('.tool .tool-state').last().textContent()).resolves.toBe('waiting for your approval');
    }
    await first.screenshot({ path: join(artifacts, 'demo-approval.png') });
    await second.locator('.tool-approval button', { hasText: 'Approve' }).click();
    for (const page of [first, second]) {
      await page.locator('.tool[data-state="complete"]').waitFor();
      await lastReply(page).locator('.bubble:not(.streaming)').waitFor();
      await expect(replyText(page)).resolves.toBe('It is 42.');
      await expect(page.locator('.tool-approval').count()).resolves.toBe(0);
      // The reasoning, collapsed, apart from the answer.
      const thinking = lastReply(page).locator('details.thinking');
      await expect(thinking.locator('summary').textContent()).resolves.toBe('Thought');
      await expect(thinking.getAttribute('open')).resolves.toBeNull();
      await expect(thinking.locator('.thinking-text').textContent()).resolves.toBe(
        'Six times seven: ask the calculator.',
      );
    }
    // The tab that did not ask learns the question from the server's history.
    await second.waitForFunction(() => document.querySelector('.user .bubble')?.textContent === 'What is 6*7?');
    await lastReply(first).locator('details.thinking summary').click();
    await first.screenshot({ path: join(artifacts, 'demo-thinking.png') });
    expect(upstream.requests).toHaveLength(2);
  });

  it('denies from a tab: the model is told, and the card says so in both', async () => {
    const first = await openTab();
    const second = await openTab();
    upstream.enqueue(
      { type: 'tool_calls', calls: [{ id: 'call_calc', name: 'calculate', arguments: { expression: '1/0' } }] },
      { type: 'text', chunks: ['Fine, no maths.'] },
    );
    await send(second, 'Divide by zero');
    await first.locator('.tool-approval button', { hasText: 'Deny' }).click();
    for (const page of [first, second]) {
      await page.locator('.tool[data-state="denied"]').waitFor();
      await lastReply(page).locator('.bubble:not(.streaming)').waitFor();
      await expect(replyText(page)).resolves.toBe('Fine, no maths.');
    }
    const toolMessage = (await upstream.request(1)).body.messages.find((m: { role: string }) => m.role === 'tool');
    expect(toolMessage.content).toBe('Error: the user declined to run calculate: the user pressed Deny');
  });

  it("runs the page's own tool, get_browser_time, in the tab that asked, once", async () => {
    const first = await openTab();
    const second = await openTab();
    upstream.enqueue(
      { type: 'tool_calls', calls: [{ id: 'call_time', name: 'get_browser_time', arguments: {} }] },
      { type: 'text', chunks: ['Your clock is fine.'] },
    );
    await send(first, 'What time is it here?');
    for (const page of [first, second]) {
      await lastReply(page).locator('.bubble:not(.streaming)').waitFor();
      await expect(replyText(page)).resolves.toBe('Your clock is fine.');
      await expect(page.locator('.tool[data-state="complete"] .tool-head').textContent()).resolves.toMatch(
        /get_browser_time/,
      );
    }
    const offered = (await upstream.request(0)).body.tools.map(
      (tool: { function: { name: string } }) => tool.function.name,
    );
    expect(offered).toContain('get_browser_time');
    const toolMessages = (await upstream.request(1)).body.messages.filter((m: { role: string }) => m.role === 'tool');
    expect(toolMessages).toHaveLength(1);
    expect(JSON.parse(toolMessages[0].content)).toEqual({
      iso: expect.any(String),
      local: expect.any(String),
      timeZone: expect.any(String),
    });
  });
});
