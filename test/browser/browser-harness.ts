import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { buildDemo } from '../../scripts/build-demo';

/**
 * What the demo page's browser tests share: Debian's Chromium, the demo built into a folder of
 * the test's own, and a watch on what the page reports (CSP violations, uncaught errors, dialogs).
 *
 * Without /usr/bin/chromium the tests are skipped with a message, unless LLM_WS_REQUIRE_BROWSER
 * is set (CI sets it, and installs Chromium first), in which case they fail.
 */
export const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.LLM_WS_REQUIRE_BROWSER)
  throw new Error(`${CHROMIUM} is missing: apt-get install chromium`);
if (!haveChromium) console.warn(`skipping the browser tests: ${CHROMIUM} is missing (apt-get install chromium)`);
export const describeWithBrowser = haveChromium ? describe : describe.skip;

export const artifacts = join(__dirname, '..', '..', 'test-artifacts');

/** Builds the demo into test-artifacts/<name> (one folder per test file: jest runs files in parallel). */
export async function buildDemoFor(name: string): Promise<string> {
  const dir = join(artifacts, name);
  mkdirSync(dir, { recursive: true });
  await buildDemo(dir);
  return dir;
}

/** Launches Debian's Chromium headless; `extraArgs` are more command-line switches. */
export function launchChromium(extraArgs: readonly string[] = []): Promise<Browser> {
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
      ...extraArgs,
    ],
  });
}

/** What a page reported while a test used it. */
export interface PageReport {
  /** `securitypolicyviolation` events and console messages about a refused CSP directive. */
  readonly cspViolations: string[];
  /** Uncaught exceptions and unhandled rejections in the page. */
  readonly pageErrors: string[];
  /** alert/confirm/prompt dialogs (dismissed at once). */
  readonly dialogs: string[];
}

/** Starts recording what `page` reports; call before the page loads. */
export async function watchPage(page: Page): Promise<PageReport> {
  const report: PageReport = { cspViolations: [], pageErrors: [], dialogs: [] };
  page.on('console', (message) => {
    if (/Content Security Policy|Trusted ?Type/i.test(message.text())) report.cspViolations.push(message.text());
  });
  page.on('pageerror', (error) => report.pageErrors.push(error.message));
  page.on('dialog', (dialog) => {
    report.dialogs.push(`${dialog.type()}: ${dialog.message()}`);
    void dialog.dismiss();
  });
  await page.exposeFunction('__reportCspViolation', (text: string) => report.cspViolations.push(text));
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) => {
      (window as unknown as { __reportCspViolation(text: string): void }).__reportCspViolation(
        `${event.violatedDirective} refused ${event.blockedURI || 'inline'} (${event.sourceFile}:${event.lineNumber})`,
      );
    });
  });
  return report;
}
