// Loads every entry point of package.json's `exports` the way users do, with require() and with
// import, from the built dist/: a build that only works through one of them fails here.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { name, exports } = require('../package.json');
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
      console.log(`ok   ${way} ${specifier}`);
    } catch (error) {
      failed = true;
      console.error(`FAIL ${way} ${specifier}: ${error.message}`);
    }
  }
}
process.exit(failed ? 1 : 0);
