import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import {
  createOpenAITestServer,
  type OpenAITestServer,
  textScenario,
  wordChunks,
} from '../../src/testing/openai-test-server';
import type { WSServer } from '../../src/server/ws-server';
import { startServerFor } from '../utils/test-server';
import {
  artifacts,
  buildDemoFor,
  describeWithBrowser,
  launchChromium,
  type PageReport,
  watchPage,
} from './browser-harness';

/**
 * The model's markdown on the demo page, in Debian's Chromium, with the model's text scripted by
 * the OpenAI-compatible test server: what renders, what is refused (script in any form), how it
 * fits a phone, and what a long streamed reply costs the page's main thread.
 */
const MARKDOWN = [
  '# Release notes',
  '',
  'Some **bold words**, *emphasis*, `inline code` and [the docs](https://example.com/docs).',
  '',
  '## Steps',
  '',
  '- first item',
  '- second item with **bold**',
  '',
  '1. one',
  '2. two',
  '',
  '```ts',
  'const answer = 42;',
  'console.log(answer);',
  '```',
  '',
  '| Name | Value |',
  '|------|------:|',
  '| alpha | 1 |',
  '| beta | 2 |',
  '',
].join('\n');

type Sentinel = { __xss?: string };

describeWithBrowser('markdown on the demo page', () => {
  let browser: Browser;
  let upstream: OpenAITestServer;
  let server: WSServer;
  let page: Page;
  let report: PageReport;
  let demoDir: string;

  /** Sends `question` (the test enqueued the model's answer); resolves once the reply is complete. */
  const ask = async (question: string): Promise<void> => {
    await page.locator('#input').fill(question);
    await page.keyboard.press('Enter');
    await page.locator('.assistant .bubble:not(.streaming)').waitFor({ timeout: 60_000 });
  };
  const openPage = async (viewport = { width: 1280, height: 800 }): Promise<void> => {
    page = await browser.newPage({ viewport });
    report = await watchPage(page);
    await page.goto(`http://127.0.0.1:${server.port}/`);
    await page.locator('#connection[data-state="connected"]').waitFor();
  };

  beforeAll(async () => {
    demoDir = await buildDemoFor('demo-build-markdown');
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });
  beforeEach(async () => {
    upstream = await createOpenAITestServer();
    server = await startServerFor(upstream, { demoDir });
  });
  afterEach(async () => {
    await page?.close();
    await server?.stop();
    await upstream?.close();
    expect(report.cspViolations).toEqual([]);
    expect(report.pageErrors).toEqual([]);
  });

  it('renders headings, bold, lists, a code block with a Copy button, a table and links', async () => {
    await openPage();
    await page
      .context()
      .grantPermissions(['clipboard-read', 'clipboard-write'], { origin: `http://127.0.0.1:${server.port}` });
    upstream.enqueue(textScenario(MARKDOWN));
    await ask('Release notes, please');
    const bubble = page.locator('.assistant .bubble');
    await expect(bubble.locator('h1').textContent()).resolves.toBe('Release notes');
    await expect(bubble.locator('h2').textContent()).resolves.toBe('Steps');
    await expect(bubble.locator('strong').allTextContents()).resolves.toEqual(['bold words', 'bold']);
    await expect(bubble.locator('em').textContent()).resolves.toBe('emphasis');
    await expect(bubble.locator('ul > li').allTextContents()).resolves.toEqual(['first item', 'second item with bold']);
    await expect(bubble.locator('ol > li').allTextContents()).resolves.toEqual(['one', 'two']);
    await expect(bubble.locator('table th').allTextContents()).resolves.toEqual(['Name', 'Value']);
    await expect(bubble.locator('table td').allTextContents()).resolves.toEqual(['alpha', '1', 'beta', '2']);
    await expect(bubble.locator('table td').nth(1).getAttribute('align')).resolves.toBe('right');
    const link = bubble.locator('a', { hasText: 'the docs' });
    await expect(link.getAttribute('href')).resolves.toBe('https://example.com/docs');
    await expect(link.getAttribute('rel')).resolves.toBe('noopener noreferrer nofollow');
    await expect(link.getAttribute('target')).resolves.toBe('_blank');
    expect(await bubble.textContent()).not.toMatch(/\*\*|^#|```/m);

    const code = bubble.locator('.code-block pre code');
    await expect(code.textContent()).resolves.toBe('const answer = 42;\nconsole.log(answer);\n');
    await expect(bubble.locator('.code-head span').textContent()).resolves.toBe('ts');
    const fonts = await code.evaluate((node) => [
      getComputedStyle(node).fontFamily,
      getComputedStyle(node.closest('.bubble') as Element).fontFamily,
    ]);
    expect(fonts[0]).toMatch(/monospace/);
    expect(fonts[1]).not.toMatch(/monospace/);
    await expect(
      page
        .locator(':not(pre) > code')
        .first()
        .evaluate((node) => getComputedStyle(node).fontFamily),
    ).resolves.toMatch(/monospace/);

    const copy = bubble.locator('.code-block .copy');
    // The label flashes "Copied" (or "Copy failed") for 1.5 s once the clipboard write settles, which a
    // loaded machine may read too early or too late: record the labels it shows instead.
    type Recorded = { copyLabels: string[] };
    await copy.evaluate((button) => {
      const labels: string[] = [];
      (window as unknown as Recorded).copyLabels = labels;
      new MutationObserver(() => labels.push(button.textContent ?? '')).observe(button, {
        childList: true,
        characterData: true,
        subtree: true,
      });
    });
    await copy.click();
    await page.waitForFunction(() => (window as unknown as Recorded).copyLabels.length > 0);
    await expect(page.evaluate(() => (window as unknown as Recorded).copyLabels[0])).resolves.toBe('Copied');
    await expect(page.evaluate(() => navigator.clipboard.readText())).resolves.toBe(
      'const answer = 42;\nconsole.log(answer);\n',
    );
    await page.screenshot({ path: join(artifacts, 'demo-markdown-desktop.png') });
  });

  it('runs no script from the model: raw HTML shows as text, javascript: and data: links lose their href', async () => {
    await openPage();
    const attack = [
      "Look: <img src=x onerror=\"window.__xss='img';alert(1)\"> and <script>window.__xss='script';alert(2)</script>",
      '',
      "[click me](javascript:window.__xss='link';alert(3)) and [data](data:text/html;base64,PHNjcmlwdD5hbGVydCg0KTwvc2NyaXB0Pg==)",
      '',
      '<a href="javascript:alert(5)">raw link</a> <svg onload="window.__xss=\'svg\'"></svg>',
      '',
      '<iframe src="javascript:alert(6)"></iframe>',
      '',
      '![pixel](https://tracker.invalid/p.png?q=secret) <details open ontoggle="window.__xss=\'details\'">x</details>',
    ].join('\n');
    const requested: string[] = [];
    page.on('request', (request) => requested.push(request.url()));
    upstream.enqueue(textScenario(attack));
    await ask('Show me some HTML');
    const bubble = page.locator('.assistant .bubble');
    await expect(bubble.locator('img, script, svg, iframe, details, object, embed').count()).resolves.toBe(0);
    const text = (await bubble.textContent()) ?? '';
    expect(text).toContain('<img src=x onerror="window.__xss=\'img\';alert(1)">');
    expect(text).toContain('<script>');
    const hrefs = await bubble.locator('a').evaluateAll((links) => links.map((link) => link.getAttribute('href')));
    expect(hrefs.filter((href) => href !== null && /^(javascript|data|vbscript):/i.test(href))).toEqual([]);
    await bubble.locator('a', { hasText: 'click me' }).click();
    await bubble.locator('a', { hasText: 'data' }).click();
    await expect(page.evaluate(() => (window as Sentinel).__xss)).resolves.toBeUndefined();
    expect(report.dialogs).toEqual([]);
    expect(requested.filter((url) => url.includes('tracker.invalid'))).toEqual([]);
    expect(browser.contexts().flatMap((context) => context.pages())).toHaveLength(1); // no link opened a tab
  });

  it('fits a phone screen: no sideways scroll with a wide table and a long code line, the input in reach', async () => {
    await openPage({ width: 375, height: 667 });
    const wide = [
      'Here is `https://example.com/a/very/long/path/without/any/place/to/break/it/at/all/so/it/must/wrap/anywhere`.',
      '',
      `| ${['column', 'another column', 'a third column', 'fourth', 'fifth column', 'sixth'].join(' | ')} |`,
      '|---|---|---|---|---|---|',
      `| ${['supercalifragilistic', 'value two', 'value three', 'value four', 'value five', 'value six'].join(' | ')} |`,
      '',
      '```js',
      `const line = ${JSON.stringify('x'.repeat(200))};`,
      '```',
    ].join('\n');
    upstream.enqueue(textScenario(wide));
    await ask('A wide answer');
    const sizes = await page.evaluate(() => {
      const messages = document.getElementById('messages') as HTMLElement;
      const pre = document.querySelector('.code-block pre') as HTMLElement;
      return {
        page: { scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth },
        messages: { scroll: messages.scrollWidth, client: messages.clientWidth },
        pre: { scroll: pre.scrollWidth, client: pre.clientWidth },
      };
    });
    expect(sizes.page.scroll).toBeLessThanOrEqual(sizes.page.client);
    expect(sizes.messages.scroll).toBeLessThanOrEqual(sizes.messages.client);
    expect(sizes.pre.scroll).toBeGreaterThan(sizes.pre.client); // the code block scrolls inside itself
    const input = await page.locator('#input').boundingBox();
    const send = await page.locator('#send').boundingBox();
    for (const box of [input, send]) {
      expect(box).not.toBeNull();
      expect(box!.x).toBeGreaterThanOrEqual(0);
      expect(box!.x + box!.width).toBeLessThanOrEqual(375);
      expect(box!.y + box!.height).toBeLessThanOrEqual(667);
    }
    await page.screenshot({ path: join(artifacts, 'demo-markdown-phone.png') });
    upstream.enqueue(textScenario('Second **answer**.'));
    await page.locator('#input').click();
    await page.keyboard.type('and again');
    await page.locator('#send').click();
    await page.locator('.assistant:nth-child(4) .bubble:not(.streaming) strong').waitFor();
  });

  it('shows at every render what rendering the text so far at once gives, for random documents in random chunks', async () => {
    await openPage();
    // Blocks that streaming can change in every way: lists joined across blank lines, setext
    // headings, fences, tables, lazy blockquote lines, indented code, raw HTML, emphasis split
    // across chunks. (Not reference definitions that come after their use: see markdown.js.)
    const pieces = [
      '# H\n',
      'para *em*\n',
      '\n',
      '- item\n',
      '  - sub\n',
      '1. one\n',
      '```\n',
      'code\n',
      '| a | b |\n',
      '|---|---|\n',
      '| 1 | 2 |\n',
      '> q\n',
      '===\n',
      '---\n',
      '    ind\n',
      '<div>\n',
      '**bo',
      'ld**\n',
      '* star\n',
      '\n\n',
    ];
    const result = await page.evaluate<{ renders: number; mismatches: string[] }>(`(async () => {
      const { createMarkdownView, renderMarkdown } = await import('/markdown.js');
      const pieces = ${JSON.stringify(pieces)};
      let seed = 12345;
      const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
      const nextFrame = () => new Promise((resolve) => requestAnimationFrame(() => resolve()));
      let renders = 0;
      const mismatches = [];
      for (let n = 0; n < 16; n++) {
        let doc = '';
        for (let i = 0; i < 12; i++) doc += pieces[Math.floor(random() * pieces.length)];
        const box = document.createElement('div');
        const view = createMarkdownView(box, {
          onRender: () => {
            renders++;
            const expected = document.createElement('div');
            expected.append(renderMarkdown(view.text));
            if (box.innerHTML !== expected.innerHTML) mismatches.push(JSON.stringify(view.text));
          },
        });
        for (let at = 0; at < doc.length; ) {
          const size = 1 + Math.floor(random() * 8);
          view.append(doc.slice(at, at + size));
          at += size;
          await nextFrame();
        }
        view.finish();
      }
      return { renders, mismatches };
    })()`);
    expect(result.mismatches).toEqual([]);
    expect(result.renders).toBeGreaterThan(16); // more than the final render of each document
  }, 60_000);

  it('streams a 2,000-chunk reply smoothly, ending with what a one-shot render gives (figures printed)', async () => {
    await openPage();
    const section = (n: number): string =>
      [
        `## Part ${n}`,
        '',
        `A paragraph about part ${n} with **bold**, *emphasis* and \`code\`, long enough to wrap over a line or two on a desktop screen.`,
        '',
        `- point one of ${n}`,
        `- point two of ${n}`,
        '',
        '```python',
        `def part_${n}(x):`,
        `    return x * ${n}`,
        '```',
        '',
        `| key | value |`,
        '|---|---|',
        `| n | ${n} |`,
        '',
        '',
      ].join('\n');
    let source = '';
    for (let n = 1; wordChunks(source).length < 2000; n++) source += section(n);
    const chunks = wordChunks(source).slice(0, 2000);
    const text = chunks.join('');
    upstream.enqueue({ type: 'text', chunks, delayMs: 1 });

    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Performance.enable');
    const metrics = async (): Promise<Record<string, number>> =>
      Object.fromEntries((await cdp.send('Performance.getMetrics')).metrics.map(({ name, value }) => [name, value]));
    await page.evaluate(() => {
      const state = { longTasks: [] as number[], frames: [] as number[], renders: 0, done: false };
      (window as unknown as { __measure: typeof state }).__measure = state;
      new PerformanceObserver((list) =>
        list.getEntries().forEach((entry) => state.longTasks.push(entry.duration)),
      ).observe({ type: 'longtask' });
      new MutationObserver(() => state.renders++).observe(document.getElementById('messages') as Node, {
        childList: true,
        subtree: true,
      });
      const tick = (at: number): void => {
        state.frames.push(at);
        if (!state.done) requestAnimationFrame(tick);
      };
      requestAnimationFrame(tick);
    });
    const before = await metrics();
    const started = Date.now();
    await ask('The long one');
    const wallMs = Date.now() - started;
    const after = await metrics();
    const measured = await page.evaluate(() => {
      const state = (
        window as unknown as { __measure: { longTasks: number[]; frames: number[]; renders: number; done: boolean } }
      ).__measure;
      state.done = true;
      const gaps = state.frames
        .slice(1)
        .map((at, i) => at - (state.frames[i] as number))
        .sort((a, b) => a - b);
      return { longTasks: state.longTasks, renders: state.renders, frames: state.frames.length, gaps };
    });
    await cdp.detach();

    // What the page shows equals rendering the whole text at once: no block was frozen too early.
    // A string, not a function: ts-jest would compile the dynamic import into a require helper.
    const { streamed, oneShot, oneShotMs } = await page.evaluate<{
      streamed: string;
      oneShot: string;
      oneShotMs: number;
    }>(`(async () => {
      const { renderMarkdown } = await import('/markdown.js');
      const box = document.createElement('div');
      const started = performance.now();
      box.append(renderMarkdown(${JSON.stringify(text)}));
      const oneShotMs = performance.now() - started;
      return { streamed: document.querySelector('.assistant .bubble').innerHTML, oneShot: box.innerHTML, oneShotMs };
    })()`);
    expect(streamed).toBe(oneShot);
    await expect(page.locator('.assistant .bubble .code-block').count()).resolves.toBeGreaterThan(20);

    const seconds = (name: string): number => ((after[name] ?? 0) - (before[name] ?? 0)) * 1000;
    const pct = (p: number): number =>
      measured.gaps[Math.min(measured.gaps.length - 1, Math.floor(p * measured.gaps.length))] ?? 0;
    const figures = {
      chunks: chunks.length,
      characters: text.length,
      wallMs,
      mainThreadTaskMs: Math.round(seconds('TaskDuration')),
      scriptMs: Math.round(seconds('ScriptDuration')),
      layoutMs: Math.round(seconds('LayoutDuration')),
      styleMs: Math.round(seconds('RecalcStyleDuration')),
      mainThreadMsPerChunk: Number((seconds('TaskDuration') / chunks.length).toFixed(3)),
      domUpdates: measured.renders,
      frames: measured.frames,
      frameGapMedianMs: Number(pct(0.5).toFixed(1)),
      frameGapP95Ms: Number(pct(0.95).toFixed(1)),
      frameGapMaxMs: Number((measured.gaps.at(-1) ?? 0).toFixed(1)),
      longTasks: measured.longTasks.length,
      longestTaskMs: Math.round(Math.max(0, ...measured.longTasks)),
      oneShotRenderOfWholeReplyMs: Number(oneShotMs.toFixed(1)),
    };
    writeFileSync(join(artifacts, 'demo-streaming.json'), `${JSON.stringify(figures, null, 2)}\n`);
    console.log(`2,000-chunk reply on the demo page (reported, not asserted):\n${JSON.stringify(figures, null, 2)}`);
    await page.screenshot({ path: join(artifacts, 'demo-markdown-long.png') });
  }, 120_000);
});
