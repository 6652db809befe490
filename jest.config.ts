import type { Config } from 'jest';
import { availableParallelism } from 'node:os';

/** Packages of ES modules the interop tests load: jest transforms them to CommonJS. */
const ESM_PACKAGES = '(ai|@ai-sdk/[^/]+|@workflow/[^/]+|@vercel/oidc|throttleit|zod)';

/**
 * The tests that start more than the test process's own sockets: other processes (the CLI, Bun,
 * redis-server nodes of a Cluster or Sentinel set-up), Chromium, `npm pack` with installs into
 * fresh apps, the Angular compiler. `npm test` (this config) leaves them out: the fast tier of
 * unit, marble and loopback tests (real sockets and the one Redis at 127.0.0.1:6379).
 * `npm run test:integration` (jest.integration.config.ts) runs exactly these.
 */
export const INTEGRATION_TESTS = [
  '/test/(consumers|browser|cli|examples)/[^/]+\\.test\\.ts$',
  '/test/angular/(ngc|testbed)\\.test\\.ts$',
  '/test/store/redis-(cluster|sentinel|hang|outage)[^/]*\\.test\\.ts$',
  '/test/resilience/hostile-upstream\\.test\\.ts$',
  // Type-checks the README's AG-UI recipes and runs each in a process of its own (tsx).
  '/test/interop/readme-[^/]+\\.test\\.ts$',
  // The native Bun adapter, in a Bun process of its own.
  '/test/adapters/bun\\.loopback\\.test\\.ts$',
  // Runs the README's tests under Jest and Vitest, each in a process of its own.
  '/test/testing/readme-tests\\.test\\.ts$',
];

/** What both tiers share. */
export const baseConfig: Config = {
  // At least two files at a time, also on a 2-core machine (where jest's default is one): many tests
  // wait on sockets, other processes, installs and a browser more than on the CPU.
  maxWorkers: Math.max(2, availableParallelism() - 1),
  preset: 'ts-jest',
  testEnvironment: 'node',
  // examples/*.test.ts show users how to test their own code; CI runs them too.
  roots: ['<rootDir>/test', '<rootDir>/examples'],
  testMatch: ['**/*.test.ts'],
  // Integration tests open real sockets and HTTP servers on loopback: give them room on a
  // shared two-core machine, but every test still closes what it opens: no forced exit.
  testTimeout: 20_000,
  // The examples import the package by name, as users do; here it resolves to the sources.
  moduleNameMapper: {
    '^llm-ws$': '<rootDir>/src/index.ts',
    '^llm-ws/(.*)$': '<rootDir>/src/$1/index.ts',
  },
  transform: {
    // Transpile only (tsconfig.jest.json): `npm run typecheck` type-checks the tests.
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.jest.json' }],
    // `ai` 7 and the packages it loads ship ES modules (only, or beside CommonJS that jest does not pick).
    [`/node_modules/${ESM_PACKAGES}/.+\\.m?js$`]: '<rootDir>/test/utils/esm-to-cjs-transform.cjs',
  },
  transformIgnorePatterns: [`/node_modules/(?!${ESM_PACKAGES}/)`],
};

const config: Config = { ...baseConfig, testPathIgnorePatterns: ['/node_modules/', ...INTEGRATION_TESTS] };

export default config;
