import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { haveChromium, launchChromium, serveStatic } from './browser';
import { makeConsumerApp, makeTempDir, packOnce, removeDir, repoRoot, runCommand } from './pack';
import { type InstalledServer, serveInstalled } from './serve';

/**
 * An Angular 22 application as `ng new` would set it up (strict, strictTemplates, zoneless), made of
 * the example chat (examples/angular), with llm-ws installed from the packed tarball, built by
 * `ng build` with Angular's `application` builder (@angular/build), served as static files and
 * run in Chromium: it streams a reply with its tool call from the installed `llm-ws serve`.
 */
const describeWithBrowser = haveChromium ? describe : describe.skip;

/** What only the server needs: none of it may reach the browser bundle. */
const SERVER_ONLY = /node_modules\/(ws|openai|ioredis|prom-client|ajv|commander|eventsource-parser)\//;

/** The repository's own versions, so the app installs from the npm cache that `npm ci` filled. */
const versionOf = (name: string): string =>
  (JSON.parse(readFileSync(join(repoRoot, 'node_modules', name, 'package.json'), 'utf8')) as { version: string })
    .version;

/**
 * The app is on Angular 22, the newest major, as `ng new` makes it today. The repository's own
 * Angular (the ngc and TestBed tests) stays on 21: Angular 22's compiler needs TypeScript 6.0,
 * and the repository's TypeScript stays 5.x for ts-jest. Angular 22 needs Node ^22.22.3 or ^24.15.
 */
const ANGULAR_VERSION = '~22.2.6';
const ANGULAR_BUILD_VERSION = '~22.2.3';
const ANGULAR_TYPESCRIPT = '~6.0.3';

const ANGULAR = [
  '@angular/core',
  '@angular/common',
  '@angular/compiler',
  '@angular/platform-browser',
  '@angular/compiler-cli',
  '@angular/build',
];

/** angular.json: one application built by @angular/build:application, as a production build. */
const angularJson = {
  version: 1,
  // No analytics prompt, no cache folder: a one-off build in CI.
  cli: { analytics: false, cache: { enabled: false } },
  projects: {
    chat: {
      projectType: 'application',
      root: '',
      sourceRoot: 'src',
      architect: {
        build: {
          builder: '@angular/build:application',
          options: {
            browser: 'src/main.ts',
            index: 'src/index.html',
            tsConfig: 'tsconfig.json',
            outputPath: 'dist',
            optimization: true,
            sourceMap: false,
            statsJson: true,
          },
        },
      },
    },
  },
};

/** tsconfig.json as `ng new` writes it: strict, with strict templates. */
const tsconfig = {
  compileOnSave: false,
  compilerOptions: {
    strict: true,
    noImplicitOverride: true,
    noPropertyAccessFromIndexSignature: true,
    noImplicitReturns: true,
    noFallthroughCasesInSwitch: true,
    skipLibCheck: true,
    isolatedModules: true,
    experimentalDecorators: true,
    importHelpers: true,
    target: 'ES2022',
    module: 'preserve',
  },
  files: ['src/main.ts'],
  angularCompilerOptions: {
    enableI18nLegacyMessageIdFormat: false,
    strictInjectionParameters: true,
    strictInputAccessModifiers: true,
    strictTemplates: true,
  },
};

const example = (file: string): string => readFileSync(join(repoRoot, 'examples', 'angular', file), 'utf8');

describeWithBrowser('the packed llm-ws in an Angular application (ng build, Chromium)', () => {
  let dir: string;
  let app: string;
  let server: InstalledServer;
  let browser: Browser;

  beforeAll(async () => {
    dir = makeTempDir('angular-consumer');
    const tarball = await packOnce();
    const dependencies = Object.fromEntries([
      ...ANGULAR.map((name) => [name, name === '@angular/build' ? ANGULAR_BUILD_VERSION : ANGULAR_VERSION]),
      // The CLI's version goes with the builder's.
      ['@angular/cli', ANGULAR_BUILD_VERSION],
      ['typescript', ANGULAR_TYPESCRIPT],
      ...['rxjs', 'tslib'].map((name) => [name, versionOf(name)]),
    ]);
    app = await makeConsumerApp(join(dir, 'app'), tarball, {
      dependencies,
      files: {
        'angular.json': JSON.stringify(angularJson, null, 2),
        'tsconfig.json': JSON.stringify(tsconfig, null, 2),
        ...Object.fromEntries(
          ['main.ts', 'app.config.ts', 'chat.component.ts', 'index.html'].map((file) => [`src/${file}`, example(file)]),
        ),
      },
    });
    [server, browser] = await Promise.all([serveInstalled(app), launchChromium()]);
  }, 300_000);
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    removeDir(dir);
  });

  it('ng build compiles it (strict templates) without warnings, with nothing of the server in the bundle, and it streams a reply in Chromium', async () => {
    const { stdout, stderr } = await runCommand(
      process.execPath,
      [join(app, 'node_modules/@angular/cli/bin/ng.js'), 'build'],
      {
        cwd: app,
        env: { NG_CLI_ANALYTICS: 'false', NG_FORCE_TTY: '0', NO_COLOR: '1', CI: '1' },
        timeoutMs: 240_000,
      },
    );
    expect(stdout).toContain('Application bundle generation complete');
    expect(`${stdout}\n${stderr}`).not.toMatch(/warning|error/i);
    const inputs = Object.keys(
      // Angular 22 names the browser build's esbuild metafile browser-stats.json (21: stats.json).
      (JSON.parse(readFileSync(join(app, 'dist', 'browser-stats.json'), 'utf8')) as { inputs: object }).inputs,
    );
    expect(inputs.filter((input) => SERVER_ONLY.test(input) || input.startsWith('node:'))).toEqual([]);
    expect(inputs).toContainEqual(expect.stringMatching(/node_modules\/llm-ws\/dist\/angular\.mjs$/));

    const site = await serveStatic(join(app, 'dist', 'browser'));
    let page: Page | undefined;
    const problems: string[] = [];
    try {
      page = await browser.newPage();
      page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
      page.on('console', (message) => {
        if (message.type() === 'error') problems.push(`console: ${message.text()}`);
      });
      await page.goto(`${site.origin}/?server=${encodeURIComponent(server.url)}`);
      await page.locator('.connection[data-status="connected"]').waitFor();
      await page.locator('input[name="text"]').fill('what is 2+3*4?');
      await page.locator('button.send').click();
      await page.locator('li.assistant[data-status="done"]').waitFor();
      await expect(page.locator('li.user .text').textContent()).resolves.toBe('what is 2+3*4?');
      await expect(page.locator('li.assistant .text').textContent()).resolves.toBe('2+3*4 = 14');
      await expect(page.locator('li.assistant .tool[data-status="complete"]').textContent()).resolves.toMatch(
        /^\s*calculate\(\{\s*"expression": "2\+3\*4"\s*\}\)\s*→ \{\s*"expression": "2\+3\*4",\s*"result": 14\s*\}\s*$/,
      );
      await expect(page.locator('button.send').isDisabled()).resolves.toBe(false);
      expect(problems).toEqual([]);
    } finally {
      await page?.close();
      await site.close();
    }
  }, 300_000);
});
