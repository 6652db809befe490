import type { Config } from 'jest';

/** Packages of ES modules the interop tests load: jest transforms them to CommonJS. */
const ESM_PACKAGES = '(ai|@ai-sdk/[^/]+|@workflow/[^/]+|@vercel/oidc|throttleit|zod)';

const config: Config = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  // examples/*.test.ts show users how to test their own code; CI runs them too.
  roots: ['<rootDir>/test', '<rootDir>/examples'],
  testMatch: ['**/*.test.ts'],
  // Integration tests open real sockets and HTTP servers on loopback: give them room on a
  // shared two-core machine, but every test still closes what it opens: no forced exit.
  testTimeout: 20_000,
  // The consumer tests (test/consumers) share one build and `npm pack` per run: this names its folder.
  globalSetup: '<rootDir>/test/consumers/global-setup.ts',
  globalTeardown: '<rootDir>/test/consumers/global-teardown.ts',
  // The examples import the package by name, as users do; here it resolves to the sources.
  moduleNameMapper: {
    '^llm-ws$': '<rootDir>/src/index.ts',
    '^llm-ws/(.*)$': '<rootDir>/src/$1/index.ts',
  },
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: { warnOnly: false } }],
    // `ai` 7 and the packages it loads ship ES modules (only, or beside CommonJS that jest does not pick).
    [`/node_modules/${ESM_PACKAGES}/.+\\.m?js$`]: '<rootDir>/test/utils/esm-to-cjs-transform.cjs',
  },
  transformIgnorePatterns: [`/node_modules/(?!${ESM_PACKAGES}/)`],
};

export default config;
