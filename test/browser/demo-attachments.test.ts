import type { Browser, Page } from 'playwright-core';
import { offlineProvider } from '../../src/llm/offline-provider';
import { silentLogger } from '../../src/server/logger';
import type { WSServerOptions } from '../../src/server/options';
import { WSServer } from '../../src/server/ws-server';
import { buildDemoFor, describeWithBrowser, launchChromium, type PageReport, watchPage } from './browser-harness';

/** A 1×1 PNG. */
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
);
/** A file name that is markup: the page must show it as text, never run it. */
const HOSTILE_NAME = '<img src=x onerror=alert(1)>.txt';

/**
 * The demo page's attachments in Debian's Chromium: picked by the button, pasted, dropped; sent
 * with the message and shown (a thumbnail from a blob: URL, a chip with the name); shown again
 * from the server's history after a reload; refused by the server's limits with the code shown.
 */
describeWithBrowser('demo page attachments in Chromium', () => {
  let browser: Browser;
  let server: WSServer | undefined;
  let page: Page | undefined;
  let report: PageReport;
  let demoDir: string;

  const start = async (options: Partial<WSServerOptions> = {}): Promise<Page> => {
    server = new WSServer({
      port: 0,
      hostname: '127.0.0.1',
      logger: silentLogger,
      llm: offlineProvider(),
      demoDir,
      ...options,
    });
    await server.start();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    report = await watchPage(page);
    await page.goto(`http://127.0.0.1:${server.port}/`);
    await page.locator('#connection[data-state="connected"]').waitFor();
    return page;
  };
  /** Waits until the picture `img` has loaded, and returns its src. */
  const loadedSrc = (p: Page, selector: string): Promise<string> =>
    p
      .waitForFunction((sel) => {
        const img = document.querySelector<HTMLImageElement>(sel);
        return img && img.complete && img.naturalWidth > 0 ? img.src : false;
      }, selector)
      .then((handle) => handle.jsonValue() as Promise<string>);

  beforeAll(async () => {
    demoDir = await buildDemoFor('demo-build-attachments');
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });
  afterEach(async () => {
    await page?.close();
    page = undefined;
    await server?.stop();
    server = undefined;
    expect(report.cspViolations).toEqual([]);
    expect(report.pageErrors).toEqual([]);
    expect(report.dialogs).toEqual([]);
  });

  it('sends a picture and a file picked by the button, shows them, and shows them again after a reload', async () => {
    const p = await start();
    await p.locator('#file-input').setInputFiles([
      { name: 'dot.png', mimeType: 'image/png', buffer: PNG },
      { name: HOSTILE_NAME, mimeType: 'text/plain', buffer: Buffer.from('hello file') },
    ]);
    await expect(p.locator('#pending-attachments .attachment-chip').count()).resolves.toBe(2);
    await p.locator('#input').fill('look at these');
    await p.keyboard.press('Enter');
    await p.locator('.assistant .bubble:not(.streaming)').waitFor();
    expect(await loadedSrc(p, '.user .attachment-thumb')).toMatch(/^blob:/);
    await expect(p.locator('.user .attachment-chip').textContent()).resolves.toBe(HOSTILE_NAME);
    await expect(p.locator('#pending-attachments').isHidden()).resolves.toBe(true);
    // After a reload, the page shows the conversation from the server's history: the picture's bytes from /attachments/<ref>.
    const fetched = p.waitForResponse((response) => /\/attachments\/sha256-[0-9a-f]{64}$/.test(response.url()));
    await p.reload();
    await p.locator('#connection[data-state="connected"]').waitFor();
    expect(await loadedSrc(p, '.user .attachment-thumb')).toMatch(/^blob:/);
    // The picture's bytes come from the server's store, by the reference its history names.
    const response = await fetched;
    expect([response.status(), response.headers()['content-type']]).toEqual([200, 'image/png']);
    await expect(p.locator('.user .attachment-chip').textContent()).resolves.toBe(HOSTILE_NAME);
    await expect(p.locator('.user .bubble').textContent()).resolves.toBe('look at these');
  });

  it('takes pictures pasted into the input and files dropped on the composer', async () => {
    const p = await start();
    await p.evaluate(
      ([png]) => {
        const bytes = Uint8Array.from(atob(png ?? ''), (c) => c.charCodeAt(0));
        const pasted = new DataTransfer();
        pasted.items.add(new File([bytes], 'pasted.png', { type: 'image/png' }));
        document
          .getElementById('input')
          ?.dispatchEvent(new ClipboardEvent('paste', { clipboardData: pasted, bubbles: true, cancelable: true }));
        const dropped = new DataTransfer();
        dropped.items.add(new File(['dropped text'], 'dropped.txt', { type: 'text/plain' }));
        const composer = document.getElementById('composer');
        composer?.dispatchEvent(new DragEvent('dragover', { dataTransfer: dropped, bubbles: true, cancelable: true }));
        composer?.dispatchEvent(new DragEvent('drop', { dataTransfer: dropped, bubbles: true, cancelable: true }));
      },
      [PNG.toString('base64')],
    );
    await expect(p.locator('#pending-attachments .attachment-chip').allTextContents()).resolves.toEqual([
      'pasted.png×',
      'dropped.txt×',
    ]);
    // Taken off again with its ×.
    await p.locator('#pending-attachments .attachment-remove').last().click();
    await p.locator('#input').fill('pasted');
    await p.keyboard.press('Enter');
    await p.locator('.assistant .bubble:not(.streaming)').waitFor();
    expect(await loadedSrc(p, '.user .attachment-thumb')).toMatch(/^blob:/);
    await expect(p.locator('.user .attachment-chip').count()).resolves.toBe(0);
  });

  it("shows the server's refusal of an attachment past its limits, with the code", async () => {
    const p = await start({ maxAttachmentBytes: 64, attachmentMediaTypes: ['image/*', 'text/plain'] });
    await p
      .locator('#file-input')
      .setInputFiles([{ name: 'big.txt', mimeType: 'text/plain', buffer: Buffer.alloc(200, 'a') }]);
    await p.locator('#input').fill('too big');
    await p.keyboard.press('Enter');
    await p.locator('.assistant .meta.failed').waitFor();
    await expect(p.locator('.assistant .meta.failed').textContent()).resolves.toMatch(
      /^An attachment is too large for this server\. \(attachment_too_large: attachment 1 \(big\.txt\): 200 bytes; this server takes at most 64 per attachment\)$/,
    );

    await p
      .locator('#file-input')
      .setInputFiles([{ name: 'doc.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4') }]);
    await p.locator('#input').fill('a pdf');
    await p.keyboard.press('Enter');
    await p.locator('.assistant >> nth=1 >> .meta.failed').waitFor();
    await expect(p.locator('.assistant >> nth=1 >> .meta.failed').textContent()).resolves.toContain(
      '(unsupported_attachment: attachment 1 (doc.pdf): application/pdf is not taken',
    );
  });
});
