/**
 * Jest transform for the ES-module-only packages the interop tests load (`ai` 7, `@ai-sdk/*` and
 * what they import): jest runs CommonJS here, so esbuild rewrites those modules to CommonJS.
 */
// A jest transformer is loaded by jest's own require: CommonJS.
/* global require, module */
/* eslint-disable @typescript-eslint/no-require-imports */
const { transformSync } = require('esbuild');
const { createHash } = require('node:crypto');

module.exports = {
  process(source, filename) {
    const { code, map } = transformSync(source, {
      loader: 'js',
      format: 'cjs',
      target: 'node20',
      sourcemap: 'external',
      sourcefile: filename,
    });
    return { code, map };
  },
  getCacheKey(source, filename) {
    return createHash('sha256').update('esm-to-cjs-1').update(filename).update(source).digest('hex');
  },
};
