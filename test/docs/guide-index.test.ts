/**
 * Every guide (docs/guide/*.md) can be found: the site's sidebar (docs/.vitepress/config.mts) and
 * the README's guide table link it, and the Chromium test of the built site
 * (test/browser/docs-site.test.ts) opens it. A guide added without them fails here.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');
const read = (path: string): string => readFileSync(join(root, path), 'utf8');

describe('every guide is linked and checked', () => {
  const guides = readdirSync(join(root, 'docs', 'guide'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => name.slice(0, -'.md'.length))
    .sort();
  const unlisted = (text: string, link: (guide: string) => string): string[] =>
    guides.filter((guide) => !text.includes(link(guide)));

  it('there are guides', () => {
    expect(guides.length).toBeGreaterThan(10);
  });

  it('the sidebar links each', () => {
    expect(unlisted(read('docs/.vitepress/config.mts'), (guide) => `link: '/guide/${guide}'`)).toEqual([]);
  });

  it("the README's guide table links each", () => {
    expect(unlisted(read('README.md'), (guide) => `](docs/guide/${guide}.md)`)).toEqual([]);
  });

  it('the Chromium test of the built site opens each', () => {
    expect(unlisted(read('test/browser/docs-site.test.ts'), (guide) => `'/guide/${guide}.html'`)).toEqual([]);
  });
});
