/**
 * The version users read agrees everywhere: package.json's is the newest release in CHANGELOG.md
 * (under "Unreleased"), the docs site shows package.json's (docs/.vitepress/config.mts reads it)
 * and includes CHANGELOG.md as it is, and no guide speaks of a release other than one the
 * changelog has ("Before 0.2", "renamed in this release").
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');
const read = (path: string): string => readFileSync(join(root, path), 'utf8');

describe('the version in package.json, the changelog and the docs', () => {
  const { version } = JSON.parse(read('package.json')) as { version: string };
  const changelog = read('CHANGELOG.md');

  it("the changelog's first release is package.json's version, after an Unreleased section", () => {
    const releases = [...changelog.matchAll(/^## (.+)$/gm)].map((match) => match[1]);
    expect(releases[0]).toBe('Unreleased');
    expect(releases[1]?.split(' ')[0]).toBe(version);
  });

  it('the site shows the version from package.json and the changelog from CHANGELOG.md', () => {
    expect(read('docs/.vitepress/config.mts')).toMatch(/readFileSync\(new URL\('..\/..\/package.json'/);
    expect(read('docs/changelog.md')).toContain('<!--@include: ../CHANGELOG.md');
  });

  it('no README or guide names a release the changelog does not have', () => {
    const files = ['README.md', ...readdirSync(join(root, 'docs', 'guide')).map((name) => `docs/guide/${name}`)];
    const known = new Set([...changelog.matchAll(/^## (\d+\.\d+\.\d+)/gm)].map((match) => match[1]));
    for (const file of files) {
      const text = read(file);
      expect(`${file}: ${/renamed in this release|in this release/i.exec(text)?.[0] ?? ''}`).toBe(`${file}: `);
      for (const match of text.matchAll(/\b(?:before|since|in) (\d+\.\d+(?:\.\d+)?)\b/gi)) {
        expect(`${file}: ${match[0]}`).toBe(
          `${file}: ${known.has(match[1] as string) ? match[0] : '(a release the changelog has)'}`,
        );
      }
    }
  });
});
