/**
 * The AI SDK guide's `useChat` app ("Using llm-ws from the AI SDK": its ChatBox.tsx and main.tsx, as
 * written), built with Vite and run in Chromium against a WSServer whose model is the
 * OpenAI-compatible test server: send, stop, regenerate, reload mid-reply, approve a tool.
 *
 * The AI SDK guide's transport URL is `ws://localhost:3000/ai-sdk`: Chromium maps localhost:3000 to a
 * TCP proxy (`--host-rules`) that forwards to each test's server on its own port, so the code is
 * built byte for byte and the browser's own WebSocket talks to llm-ws. Needs Node 22 (`ai` 7, Vite 8).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import type { WSServer } from '../../src/server/ws-server';
import { useLoopbackServer } from '../utils/loopback-server';
import { MAIL_ANN, recordedSendMail } from '../utils/send-mail-tool';
import { serveStatic } from '../consumers/browser';
import { createTcpProxy, type TcpProxy } from '../utils/tcp-proxy';
import { artifacts, describeWithBrowser, launchChromium, type PageReport, watchPage } from './browser-harness';

const README_URL = 'ws://localhost:3000/ai-sdk';
const repoRoot = join(__dirname, '..', '..');

/** The AI SDK guide's ```tsx block whose first line is `// <name>`. */
function readmeBlock(name: string): string {
  const readme = readFileSync(join(repoRoot, 'docs', 'guide', 'ai-sdk-ag-ui.md'), 'utf8');
  const block = [...readme.matchAll(/```tsx\n([\s\S]*?)```/g)]
    .map((match) => match[1] as string)
    .find((code) => code.startsWith(`// ${name}`));
  if (!block) throw new Error(`docs/guide/ai-sdk-ag-ui.md has no \`\`\`tsx block starting with '// ${name}'`);
  return block;
}

const loopback = useLoopbackServer();

describeWithBrowser("the AI SDK guide's useChat app (Vite, Chromium) on llm-ws's AI SDK endpoint", () => {
  const app = join(artifacts, 'ai-sdk-use-chat-app');
  let browser: Browser;
  let site: { origin: string; close(): Promise<void> };
  let proxy: TcpProxy;
  let page: Page | undefined;
  let report: PageReport;

  beforeAll(async () => {
    const chatBox = readmeBlock('ChatBox.tsx');
    expect(chatBox).toContain(`'${README_URL}'`);
    rmSync(app, { recursive: true, force: true });
    mkdirSync(app, { recursive: true });
    writeFileSync(join(app, 'ChatBox.tsx'), chatBox);
    writeFileSync(join(app, 'main.tsx'), readmeBlock('main.tsx'));
    // What the AI SDK guide's main.tsx says index.html has.
    writeFileSync(
      join(app, 'index.html'),
      '<!doctype html><title>chat</title><div id="root"></div><script type="module" src="/main.tsx"></script>',
    );
    await promisify(execFile)(process.execPath, [join(repoRoot, 'node_modules/vite/bin/vite.js'), 'build'], {
      cwd: app,
      env: { ...process.env, NO_COLOR: '1' },
    });
    site = await serveStatic(join(app, 'dist'));
    proxy = await createTcpProxy(0);
    browser = await launchChromium([`--host-rules=MAP localhost:3000 127.0.0.1:${proxy.port}`]);
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await site?.close();
    await proxy?.close();
    rmSync(app, { recursive: true, force: true });
  });

  // Before the server stops (the loopback's afterEach runs after this block's).
  afterEach(async () => {
    await page?.close();
    page = undefined;
  });

  /** Opens the app in a fresh page whose socket to the AI SDK guide's URL reaches `to`. */
  async function openApp(to: WSServer): Promise<Page> {
    page = await browser.newPage();
    report = await watchPage(page);
    proxy.retarget(to.port as number);
    await page.goto(`${site.origin}/`);
    return page;
  }

  async function send(on: Page, text: string): Promise<void> {
    await on.locator('input').fill(text);
    await on.getByRole('button', { name: 'Send' }).click();
  }

  /** The text parts of the assistant messages shown, one string per message. */
  const assistantTexts = (on: Page): Promise<string[]> =>
    on.$$eval('section.assistant', (sections) =>
      sections.map((section) =>
        Array.from(section.querySelectorAll('p:not(.tool)'))
          .map((part) => part.textContent ?? '')
          .join(''),
      ),
    );

  /** Waits until the page shows `texts` as its assistant messages and is ready for input again. */
  async function waitForAssistant(on: Page, texts: string[]): Promise<void> {
    await on
      .waitForFunction(
        (expected) => {
          const shown = Array.from(document.querySelectorAll('section.assistant')).map((section) =>
            Array.from(section.querySelectorAll('p:not(.tool)'))
              .map((part) => part.textContent ?? '')
              .join(''),
          );
          const stop = Array.from(document.querySelectorAll('button')).find((button) => button.textContent === 'Stop');
          return JSON.stringify(shown) === JSON.stringify(expected) && stop?.disabled === true;
        },
        texts,
        { timeout: 15_000 },
      )
      .catch(async (error: unknown) => {
        throw new Error(
          `waiting for ${JSON.stringify(texts)}: the page shows ${JSON.stringify(await assistantTexts(on))}; ` +
            `page errors ${JSON.stringify(report.pageErrors)}; ${String(error)}`,
        );
      });
  }

  it('sends messages and streams the replies; the server holds the conversation', async () => {
    const server = await loopback.start({ builtinTools: false, conversationOptions: { systemPrompt: '' } });
    const connectionsBefore = proxy.connections;
    const on = await openApp(server);
    await send(on, 'hello');
    await waitForAssistant(on, ['You said: hello']);
    await send(on, 'again');
    await waitForAssistant(on, ['You said: hello', 'You said: again']);
    // Chromium's own WebSocket, one socket for both messages, through the proxy to this server.
    expect(proxy.connections - connectionsBefore).toBe(1);
    const second = await loopback.upstream.request(1);
    expect((second.body.messages as Array<{ content: unknown }>).map((message) => message.content)).toEqual([
      'hello',
      'You said: hello',
      'again',
    ]);
    expect(report.pageErrors).toEqual([]);
  });

  it('Stop aborts the model request', async () => {
    const server = await loopback.start({ builtinTools: false });
    loopback.upstream.enqueue({ type: 'text', chunks: Array.from({ length: 200 }, (_, i) => `w${i} `), delayMs: 20 });
    const on = await openApp(server);
    await send(on, 'talk');
    await on.waitForFunction(() => document.querySelector('section.assistant')?.textContent?.includes('w2 '));
    await on.getByRole('button', { name: 'Stop' }).click();
    await expect(loopback.upstream.request(0).then((request) => request.ended)).resolves.toBe('client_closed');
    await on.getByRole('button', { name: 'Stop' }).and(on.locator(':disabled')).waitFor();
    const [shown] = await assistantTexts(on);
    expect(shown).toMatch(/^w0 w1 w2 /);
    expect(shown).not.toContain('w199');
    expect(report.pageErrors).toEqual([]);
  });

  it('Regenerate replaces the last reply with a new answer to the same message', async () => {
    const server = await loopback.start({ builtinTools: false, conversationOptions: { systemPrompt: '' } });
    loopback.upstream.enqueue(
      { type: 'text', chunks: ['first ', 'answer'] },
      { type: 'text', chunks: ['second ', 'answer'] },
    );
    const on = await openApp(server);
    await send(on, 'question');
    await waitForAssistant(on, ['first answer']);
    await on.getByRole('button', { name: 'Regenerate' }).click();
    await waitForAssistant(on, ['second answer']);
    const again = await loopback.upstream.request(1);
    expect((again.body.messages as Array<{ content: unknown }>).map((message) => message.content)).toEqual([
      'question',
    ]);
    expect(report.pageErrors).toEqual([]);
  });

  it('a reload mid-reply shows the whole reply once, from the one model request', async () => {
    const server = await loopback.start({ builtinTools: false });
    // Long enough (3 s) that the reload lands while the reply still runs.
    const words = Array.from({ length: 150 }, (_, i) => `w${i} `);
    loopback.upstream.enqueue({ type: 'text', chunks: words, delayMs: 20 });
    const on = await openApp(server);
    await send(on, 'count');
    await on.waitForFunction(() => document.querySelector('section.assistant')?.textContent?.includes('w3 '));
    const chatUrl = on.url();
    expect(chatUrl).toMatch(/[?&]chat=/);
    await on.reload();
    expect(on.url()).toBe(chatUrl);
    await waitForAssistant(on, [words.join('')]);
    await expect(loopback.upstream.request(0).then((request) => request.ended)).resolves.toBe('completed');
    expect(loopback.upstream.requests).toHaveLength(1);
    expect(report.pageErrors).toEqual([]);
  });

  it('asks to approve a tool; Allow runs it and the reply goes on', async () => {
    const { tool, runs } = recordedSendMail();
    const server = await loopback.start({ builtinTools: false, tools: [tool] });
    loopback.upstream.enqueue(...MAIL_ANN);
    const on = await openApp(server);
    await send(on, 'mail ann');
    await on.getByRole('button', { name: 'Allow' }).waitFor();
    expect(await on.locator('p.tool').textContent()).toMatch(/^send_mail: approval-requested/);
    expect(runs).toEqual([]);
    await on.getByRole('button', { name: 'Allow' }).click();
    await waitForAssistant(on, ['Sending.Mail sent.']);
    expect(runs).toEqual([{ to: 'ann' }]);
    expect(await on.locator('p.tool').textContent()).toBe('send_mail: output-available');
    expect(report.pageErrors).toEqual([]);
  });
});
