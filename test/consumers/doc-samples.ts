/**
 * The code samples of the README and the guides (docs/guide/*.md), as the consumer tests compile
 * and run them. A ```ts or ```tsx block is type-checked (strict) on its own by default. An HTML
 * comment right before it (invisible on GitHub and on the site) says otherwise:
 *
 *   <!-- sample: run -->                     type-checked, and run by readme-quick-start.test.ts
 *   <!-- sample: skip <why, and the test that covers it> -->
 *   <!-- sample
 *   declare const client: WSClient;          a prelude: what the block takes from the text
 *   -->                                      around it, compiled before it
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The markdown files whose samples are checked, relative to the repository root. */
export function sampleFiles(repoRoot: string): string[] {
  const guides = readdirSync(join(repoRoot, 'docs', 'guide'))
    .filter((name) => name.endsWith('.md'))
    .sort();
  return ['README.md', ...guides.map((name) => `docs/guide/${name}`)];
}

/** One code block of a README or guide. */
export interface DocSample {
  /** `docs/guide/node.md:152`: where its fence opens. */
  readonly where: string;
  readonly language: 'ts' | 'tsx';
  readonly code: string;
  readonly mode: 'check' | 'run' | 'skip';
  /** The prelude (check), or why it is skipped (skip). */
  readonly note: string;
  /** A file name for it: `docs-guide-node-md-152.ts`. */
  readonly fileName: string;
}

/** A marker comment that ends right before a fence (only blank space between them). */
const MARKER = /^<!-- sample(?::\s*(run|skip)\b)?([\s\S]*?)-->\s*$/;

/** Every ```ts and ```tsx block of `file`, in order, with what its marker says. */
export function docSamples(repoRoot: string, file: string): DocSample[] {
  const text = readFileSync(join(repoRoot, file), 'utf8');
  const samples: DocSample[] = [];
  const fence = /^```(\w*)[^\n]*\n([\s\S]*?)^```$/gm;
  for (const match of text.matchAll(fence)) {
    const language = match[1];
    if (language !== 'ts' && language !== 'tsx') continue;
    const line = text.slice(0, match.index).split('\n').length;
    const before = text.slice(0, match.index);
    const marker = MARKER.exec(before.slice(before.lastIndexOf('<!-- sample')));
    const mode = marker ? ((marker[1] as 'run' | 'skip' | undefined) ?? 'check') : 'check';
    samples.push({
      where: `${file}:${line}`,
      language,
      code: match[2] as string,
      mode,
      note: (marker?.[2] ?? '').trim(),
      fileName: `${file.replace(/[^\w]+/g, '-')}-${line}.${language}`,
    });
  }
  return samples;
}
