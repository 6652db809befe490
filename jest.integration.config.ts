import type { Config } from 'jest';
import { baseConfig, INTEGRATION_TESTS } from './jest.config';

/**
 * `npm run test:integration`: the tests `npm test` leaves out (see INTEGRATION_TESTS): other
 * processes, Redis Cluster and Sentinel, Chromium, the packed tarball in fresh apps, Angular.
 */
const config: Config = {
  ...baseConfig,
  testRegex: INTEGRATION_TESTS,
  testMatch: undefined,
  // The consumer tests (test/consumers) share one build and `npm pack` per run: this names its folder.
  globalSetup: '<rootDir>/test/consumers/global-setup.ts',
  globalTeardown: '<rootDir>/test/consumers/global-teardown.ts',
};

export default config;
