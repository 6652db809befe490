/**
 * Checks every link of the built docs site (`npm run docs:build`, docs/.vitepress/dist): each
 * page, script, stylesheet, picture and `#fragment` a page links to must exist. VitePress's build
 * already fails on a link to a missing page; this adds the fragments (a heading renamed in one
 * guide breaks the anchors others link to) and the assets.
 *
 * It reads the files, not a server: linkinator over HTTP took 6 minutes for the site's 1,500 links
 * on CI's loaded 2 cores, this takes about a second. Links off the site (GitHub, npm, the samples'
 * localhost) are not followed: CI has no network, and they are not the site's to break.
 *
 * Usage: tsx scripts/check-site-links.ts [dist folder]
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, posix, relative, sep } from 'node:path';

const root = process.argv[2] ?? join(__dirname, '..', 'docs', '.vitepress', 'dist');
const base = process.env.DOCS_BASE ?? '/';

/** Every .html file under `dir`, relative to `root`, with `/` separators. */
function pages(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return pages(path);
    return entry.name.endsWith('.html') ? [relative(root, path).split(sep).join('/')] : [];
  });
}

const decode = (text: string): string =>
  text
    .replace(/&amp;/g, '&')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>');

/** The file a site path names (VitePress: `/guide/node.html`, `/api/`, maybe `/guide/node`). */
function fileOf(sitePath: string): string | undefined {
  const path = join(root, decodeURIComponent(sitePath));
  for (const candidate of [path, `${path}.html`, join(path, 'index.html')]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return undefined;
}

const idsOf = new Map<string, Set<string>>();
function ids(file: string): Set<string> {
  let found = idsOf.get(file);
  if (!found) {
    found = new Set(
      [...readFileSync(file, 'utf8').matchAll(/\sid="([^"]*)"/g)].map((match) => decode(match[1] as string)),
    );
    idsOf.set(file, found);
  }
  return found;
}

function main(): void {
  const started = Date.now();
  const all = pages(root);
  const broken: string[] = [];
  let links = 0;
  for (const page of all) {
    const file = join(root, page);
    const html = readFileSync(file, 'utf8');
    for (const match of html.matchAll(/\s(?:href|src)="([^"]*)"/g)) {
      const link = decode(match[1] as string);
      if (/^([a-z][\w+.-]*:|\/\/)/i.test(link)) continue; // another site, mailto:, data:, javascript:
      links++;
      const [pathPart = '', fragment] = link.split('#', 2);
      let target = file;
      if (pathPart !== '') {
        const sitePath = pathPart.startsWith('/')
          ? posix.join('/', pathPart.slice(base.length - 1))
          : posix.join('/', posix.dirname(page), pathPart);
        const found = fileOf(sitePath.split('?')[0] as string);
        if (!found) {
          broken.push(`${page}: ${link} (no such file)`);
          continue;
        }
        target = found;
      }
      if (fragment && target.endsWith('.html') && !ids(target).has(decodeURIComponent(fragment))) {
        broken.push(`${page}: ${link} (no #${fragment} on ${relative(root, target)})`);
      }
    }
  }
  for (const line of broken) console.error(`broken: ${line}`);
  console.log(`${links} links on ${all.length} pages checked in ${Date.now() - started} ms: ${broken.length} broken`);
  if (broken.length > 0) process.exitCode = 1;
}

main();
