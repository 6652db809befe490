/**
 * Chromium and a static file server for the consumer apps' browser builds. A page under test sets
 * `window.__result` to `{ fullText, streamed }` (or `{ error }`) once its round trip is done.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';
import { type Browser, chromium } from 'playwright-core';

const CHROMIUM = '/usr/bin/chromium';
export const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.LLM_WS_REQUIRE_BROWSER)
  throw new Error(`${CHROMIUM} is missing: apt-get install chromium`);
if (!haveChromium)
  console.warn(`skipping the consumer browser tests: ${CHROMIUM} is missing (apt-get install chromium)`);

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/**
 * The page script every browser consumer runs, as the app's own code: connect to the server named
 * in `?ws=`, ask the offline model a sum, and report the streamed chunks and the final text.
 */
export function roundTripScript(importFrom: string): string {
  return `import { WSClient } from '${importFrom}';
const url = new URLSearchParams(location.search).get('ws');
const client = new WSClient({ url });
const chunks = [];
client.chunks$.subscribe(({ chunk }) => chunks.push(chunk));
client
  .connect()
  .then(() => client.sendMessage('what is 2+3*4?'))
  .then(
    ({ fullText }) => {
      window.__result = { fullText, streamed: chunks.join('') };
      client.disconnect();
    },
    (error) => {
      window.__result = { error: String((error && error.stack) || error) };
    },
  );
`;
}

const types: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/** Serves the files under `dir` on 127.0.0.1, port 0 (as `vite preview` or any static host would). */
export async function serveStatic(dir: string): Promise<{ origin: string; close(): Promise<void> }> {
  const server: Server = createServer((request, response) => {
    const path = normalize(decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname)).replace(
      /^(\.\.[/\\])+/,
      '',
    );
    let file = join(dir, path);
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
    if (!file.startsWith(dir) || !existsSync(file)) {
      response.writeHead(404).end('not found');
      return;
    }
    response
      .writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' })
      .end(readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Opens `pageUrl` in a new page and resolves with what the page reports (see {@link roundTripScript}). */
export async function roundTripInPage(
  browser: Browser,
  pageUrl: string,
): Promise<{ fullText?: string; streamed?: string; error?: string }> {
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  try {
    await page.goto(pageUrl);
    await page
      .waitForFunction(() => (window as unknown as { __result?: unknown }).__result !== undefined, undefined, {
        timeout: 20_000,
      })
      .catch(() => {
        throw new Error(`the page reported nothing; ${problems.join('; ') || 'no errors'}`);
      });
    return await page.evaluate(
      () => (window as unknown as { __result: { fullText?: string; streamed?: string; error?: string } }).__result,
    );
  } finally {
    await page.close();
  }
}
