/**
 * The entry-point tables of the README and of the Node guide name every entry the package exports
 * (package.json `exports`), and no other, and the API reference (TypeDoc) documents each: a new
 * entry the docs do not mention, or a documented one that is gone, fails here.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');

/** The `llm-ws...` import paths named in the first column of the first table after `heading`. */
function documentedEntries(file: string, heading: string): string[] {
  const lines = readFileSync(join(root, file), 'utf8').split('\n');
  const start = lines.indexOf(heading);
  if (start < 0) throw new Error(`${file} has no heading "${heading}"`);
  const rest = lines.slice(start + 1);
  const first = rest.findIndex((line) => line.startsWith('|'));
  const end = rest.findIndex((line, i) => i > first && !line.startsWith('|'));
  return rest
    .slice(first + 2, end)
    .flatMap((line) => [...(line.split('|')[1] ?? '').matchAll(/`(llm-ws(?:\/[\w/-]+)?)`/g)].map((m) => m[1] as string))
    .sort();
}

describe('the entry-point tables', () => {
  const { exports } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    exports: Record<string, unknown>;
  };
  const entries = Object.keys(exports)
    .filter((key) => key !== './package.json')
    .map((key) => (key === '.' ? 'llm-ws' : `llm-ws/${key.slice(2)}`))
    .sort();

  it.each([
    ['README.md', '## Entry points'],
    ['docs/guide/node.md', '## Package entry points'],
  ])('%s "%s" names every entry of package.json, and no other', (file, heading) => {
    expect(entries.length).toBeGreaterThan(5);
    expect(documentedEntries(file, heading)).toEqual(entries);
  });

  it('the API reference (typedoc.json) documents every entry', () => {
    const { entryPoints } = JSON.parse(readFileSync(join(root, 'typedoc.json'), 'utf8')) as { entryPoints: string[] };
    const documented = entryPoints.map((path) =>
      path === 'src/index.ts' ? 'llm-ws' : `llm-ws/${path.replace(/^src\//, '').replace(/\/index\.ts$/, '')}`,
    );
    // llm-ws/browser is llm-ws/client bundled into one module: the same API, documented once.
    expect([...documented, 'llm-ws/browser'].sort()).toEqual(entries);
  });
});
