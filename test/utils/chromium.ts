import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

/**
 * Debian's Chromium, driven by playwright-core (playwright's own browser download cannot work
 * here). Without it, browser tests are skipped with a message, unless LLM_WS_REQUIRE_BROWSER is
 * set (CI sets it, and installs Chromium first), in which case they fail.
 */
export const CHROMIUM = '/usr/bin/chromium';

/** `describe` when Chromium is installed, else `describe.skip` (or a failure under LLM_WS_REQUIRE_BROWSER). */
export function describeWithChromium(what: string): jest.Describe {
  if (existsSync(CHROMIUM)) return describe;
  if (process.env.LLM_WS_REQUIRE_BROWSER) throw new Error(`${CHROMIUM} is missing: apt-get install chromium`);
  console.warn(`skipping ${what}: ${CHROMIUM} is missing (apt-get install chromium)`);
  return describe.skip;
}

/** Launches headless Chromium, quiet: no background networking, updates or sync. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}
