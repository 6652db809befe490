// Loads every entry point of package.json's `exports` the way users do, with require() and with
// import, from the built dist/: a build that only works through one of them fails here. Each
// entry's run-time names must be the reviewed ones (test/api/public-surface.json, `values`).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { name, exports } = require('../package.json');
const surface = require('../test/api/public-surface.json');
let failed = false;
for (const [entry, target] of Object.entries(exports)) {
  if (entry === './package.json') continue;
  const specifier = entry === '.' ? name : `${name}/${entry.slice(2)}`;
  // ./browser is an ES module for browsers (<script type="module">): import only.
  const ways = entry === './browser' || !('require' in target) ? ['import'] : ['import', 'require'];
  for (const way of ways) {
    try {
      const module = way === 'import' ? await import(specifier) : require(specifier);
      if (Object.keys(module).length === 0) throw new Error('no exports');
      const reviewed = surface[specifier]?.values;
      if (reviewed) {
        // ESM namespaces of CJS-interop may add `default` and `module.exports`: not names of ours.
        const names = Object.keys(module)
          .filter((key) => key !== 'default' && key !== 'module.exports')
          .sort();
        const extra = names.filter((key) => !reviewed.includes(key));
        const missing = reviewed.filter((key) => !names.includes(key));
        if (extra.length || missing.length) {
          throw new Error(
            `run-time exports differ from test/api/public-surface.json: extra ${extra.join(', ') || '-'}; missing ${missing.join(', ') || '-'}`,
          );
        }
      }
      console.log(`ok   ${way} ${specifier}`);
    } catch (error) {
      failed = true;
      console.error(`FAIL ${way} ${specifier}: ${error.message}`);
    }
  }
}
process.exit(failed ? 1 : 0);
