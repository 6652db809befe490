/**
 * The README's picture of the demo page (docs/public/demo.png): the page `npm start` serves, in
 * Debian's Chromium, after asking "What is 2+3*4?" of the offline model (the answer streams with
 * its `calculate` tool call). Run it again when the page changes: `npx tsx scripts/screenshot-demo.ts`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { buildDemo } from './build-demo';
import { offlineProvider } from '../src/llm/offline-provider';
import { silentLogger } from '../src/server/logger';
import { WSServer } from '../src/server/ws-server';

const out = join(__dirname, '..', 'docs', 'public', 'demo.png');

async function main(): Promise<void> {
  const demoDir = mkdtempSync(join(tmpdir(), 'llm-ws-demo-'));
  await buildDemo(demoDir);
  const server = new WSServer({
    port: 0,
    hostname: '127.0.0.1',
    logger: silentLogger,
    llm: offlineProvider(),
    demoDir,
  });
  await server.start();
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox'] });
  try {
    const page = await browser.newPage({ viewport: { width: 960, height: 560 }, deviceScaleFactor: 1 });
    await page.goto(`http://127.0.0.1:${server.port}/`);
    await page.locator('#connection[data-state="connected"]').waitFor();
    await page.locator('#input').fill('What is 2+3*4?');
    await page.keyboard.press('Enter');
    await page.locator('.tool[data-state="complete"]').waitFor();
    await page.locator('.assistant .bubble:not(.streaming)').waitFor();
    await page.screenshot({ path: out });
    console.log(`wrote ${out}`);
  } finally {
    await browser.close();
    await server.stop();
    rmSync(demoDir, { recursive: true, force: true });
  }
}

void main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
