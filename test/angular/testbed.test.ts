import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import type { Browser, Page } from 'playwright-core';
import { filter, firstValueFrom, map, startWith } from 'rxjs';
import type { WSServer } from '../../src/server/ws-server';
import { createOpenAITestServer, type OpenAITestServer, textScenario } from '../../src/testing/node';
import { startServerFor } from '../utils/test-server';
import type { Mode, Specs } from './page/specs-api';
import { haveChromium, launchChromium, serveStatic } from '../consumers/browser';

/**
 * `llm-ws/angular` under Angular's TestBed in Chromium, against a live WSServer whose model is
 * the OpenAI-compatible test server: the example chat component streams a reply chunk by chunk
 * (with zone.js and zoneless), `whenStable()` settles while the socket is open, a late template
 * sees the current status, a destroyed component or injector disconnects, and the server platform
 * opens nothing. The specs (test/angular/page/specs.ts) run in the page and return what they saw.
 *
 * Skipped without /usr/bin/chromium unless LLM_WS_REQUIRE_BROWSER is set (CI sets it).
 */
const describeWithBrowser = haveChromium ? describe : describe.skip;

describeWithBrowser('llm-ws/angular in TestBed (Chromium)', () => {
  let browser: Browser;
  // The page's own server, on loopback: Chromium refuses a public origin's sockets to loopback.
  let site: { origin: string; close(): Promise<void> };
  let upstream: OpenAITestServer;
  let server: WSServer;
  let page: Page;
  const pageErrors: string[] = [];

  /** Runs one spec in the page. */
  const run = <K extends keyof Specs>(name: K, ...args: Parameters<Specs[K]>): Promise<Awaited<ReturnType<Specs[K]>>> =>
    page.evaluate(
      ([name, args]) =>
        (window as unknown as { llmWsSpecs: Record<string, (...a: unknown[]) => unknown> }).llmWsSpecs[name]!(...args),
      [name, args] as const,
    ) as Promise<Awaited<ReturnType<Specs[K]>>>;

  /** Resolves once the server has exactly `count` connections. */
  const connections = (count: number): Promise<number> =>
    firstValueFrom(
      server.events$.pipe(
        startWith(undefined),
        map(() => server.getConnectionCount()),
        filter((open) => open === count),
      ),
    );

  beforeAll(async () => {
    const root = join(__dirname, '..', '..');
    const dir = join(root, 'test-artifacts', 'angular-testbed');
    mkdirSync(dir, { recursive: true });
    await build({
      entryPoints: [join(__dirname, 'page', 'specs.ts')],
      tsconfig: join(__dirname, 'page', 'tsconfig.json'),
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      outfile: join(dir, 'specs.js'),
      logLevel: 'silent',
      absWorkingDir: root,
    });
    writeFileSync(
      join(dir, 'index.html'),
      '<!doctype html><html><head><link rel="icon" href="data:,"></head><body><script type="module" src="/specs.js"></script></body></html>\n',
    );
    site = await serveStatic(dir);
    browser = await launchChromium();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await site?.close();
  });

  beforeEach(async () => {
    upstream = await createOpenAITestServer();
    server = await startServerFor(upstream);
    pageErrors.length = 0;
    page = await browser.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(message.text());
    });
    await page.goto(`${site.origin}/`);
    await page.waitForFunction(() => 'llmWsSpecs' in window);
  }, 60_000);
  afterEach(async () => {
    // Resetting TestBed destroys the test module's injector: a root-level chat must disconnect.
    if (page) await run('reset');
    if (server) await connections(0);
    await page?.close();
    await server?.stop();
    await upstream?.close();
    expect(pageErrors).toEqual([]);
  });

  it.each<Mode>(['zone', 'zoneless'])(
    'the example chat streams one reply chunk by chunk and settles (%s)',
    async (mode) => {
      // 7 words 40 ms apart: a loaded machine's browser may draw less often than every 15 ms.
      upstream.enqueue(textScenario('Angular sees every chunk as it comes', { delayMs: 40 }));
      const seen = await run('streamOneReply', server.url as string, mode, 'Hello from TestBed');
      expect(seen.emittedOutsideZone).toEqual([]);
      // Zoneless: no NgZone.run per frame (signals schedule change detection); zone.js: each delivery enters the zone.
      if (mode === 'zoneless') expect(seen.zoneRunsInFrames).toBe(0);
      else expect(seen.zoneRunsInFrames).toBeGreaterThan(2);
      expect(seen.signalsMatch).toEqual({ status: true, busy: true, messages: true });
      expect(seen.stableWhenConnected).toBe(true);
      expect(seen.stableAfterReply).toBe(true);
      expect(seen.connectionShown).toBe('connected');
      expect(seen.sessionShown).toBe('idle');
      expect(seen.messages).toEqual([
        { role: 'user', status: 'done', text: 'Hello from TestBed', tools: [] },
        { role: 'assistant', status: 'done', text: 'Angular sees every chunk as it comes', tools: [] },
      ]);
      // Rendered as it streamed: growing prefixes of the reply, not only its end (a busy browser may
      // draw several chunks at once, so at least one prefix before the whole reply).
      expect(seen.replyTextsShown.length).toBeGreaterThan(1);
      seen.replyTextsShown.forEach((shown, index) => {
        expect('Angular sees every chunk as it comes'.startsWith(shown)).toBe(true);
        if (index > 0) expect(shown.length).toBeGreaterThan(seen.replyTextsShown[index - 1]!.length);
      });
      expect(seen.sendDisabled).toBe(false);
      expect((await upstream.request(0)).body.messages.at(-1)).toEqual({ role: 'user', content: 'Hello from TestBed' });
      expect(server.getConnectionCount()).toBe(1);
    },
  );

  it('shows tool calls on the reply they belong to', async () => {
    upstream.enqueue(
      { type: 'tool_calls', calls: [{ name: 'calculate', arguments: { expression: '6*7' } }] },
      textScenario('6*7 = 42'),
    );
    const seen = await run('streamOneReply', server.url as string, 'zone', 'what is 6*7?');
    expect(seen.messages).toEqual([
      { role: 'user', status: 'done', text: 'what is 6*7?', tools: [] },
      {
        role: 'assistant',
        status: 'done',
        text: '6*7 = 42',
        tools: ['calculate({ "expression": "6*7" }) → { "expression": "6*7", "result": 42 }'],
      },
    ]);
  });

  it('a template that subscribes late sees the current status at once', async () => {
    const seen = await run('lateSubscriber', server.url as string);
    expect(seen).toEqual({ before: null, after: 'connected', count: '0' });
  });

  it('a component with its own provideLlmWs disconnects when destroyed', async () => {
    const started = await run('ownChatStart', server.url as string);
    expect(started).toEqual({ stable: true, shown: 'connected' });
    await connections(1);
    const destroyed = await run('ownChatDestroy');
    expect(destroyed).toEqual({ ended: 'completed', statuses: ['connected', 'disconnected'] });
    await connections(0);
  });

  it('Stop aborts the reply on the server and keeps what was shown', async () => {
    upstream.enqueue({ type: 'stall', chunks: ['Once ', 'upon ', 'a time'] });
    const seen = await run('abortReply', server.url as string, 'Tell me a story', 'Once upon a time');
    expect(seen.stable).toBe(true);
    expect(seen.busy).toBe(false);
    expect(seen.messages[1]).toEqual({ role: 'assistant', status: 'aborted', text: 'Once upon a time', tools: [] });
    // The model request itself was cancelled.
    await expect((await upstream.request(0)).ended).resolves.toBe('client_closed');
  });

  it('clear() empties the conversation in the page and on the server', async () => {
    const seen = await run('clearConversation', server.url as string);
    expect(seen).toEqual({ emittedOutsideZone: [], historyBefore: 2, historyAfter: 0, messagesShown: 0, stable: true });
  });

  it('regenerates, edits and switches branches, and lists, renames, opens and deletes conversations', async () => {
    const seen = await run('conversations', server.url as string);
    expect(seen).toEqual({
      idsAfterSend: [true, true],
      replyBranch: '2/2',
      afterEdit: { texts: ['changed question', 'You said: changed question'], userBranch: 2 },
      afterSwitch: ['first question', 'You said: first question'],
      usage: expect.objectContaining({ promptTokens: expect.any(Number), completionTokens: expect.any(Number) }),
      titlesAfterRename: ['Renamed'],
      firstPage: 1,
      more: true,
      bothPages: expect.arrayContaining(['second question', 'Renamed']),
      opened: ['first question', 'You said: first question'],
      titlesAfterDelete: ['Renamed'],
    });
    expect(upstream.requests.map((request) => request.body.messages.at(-1).content)).toEqual([
      'first question',
      'first question',
      'changed question',
      'second question',
    ]);
  });

  it('on the server platform it opens no socket and stays idle', async () => {
    const seen = await run('serverPlatform', server.url as string);
    expect(seen).toEqual({
      stable: true,
      socketsOpened: 0,
      shown: 'disconnected',
      messages: 0,
      hasClient: false,
      sendError: 'disconnected',
    });
    expect(server.getConnectionCount()).toBe(0);
  });
});
