import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import GithubSlugger from 'github-slugger';
import { defineConfig, type DefaultTheme } from 'vitepress';

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

/**
 * The API reference's sidebar, written by TypeDoc (typedoc.json) before the site is built. Each
 * module is named by its import path (`index` is the package root).
 */
function apiSidebar(): DefaultTheme.SidebarItem[] {
  const file = fileURLToPath(new URL('../api/typedoc-sidebar.json', import.meta.url));
  if (!existsSync(file)) return [];
  const items = JSON.parse(readFileSync(file, 'utf8')) as DefaultTheme.SidebarItem[];
  return items.map((item) => ({ ...item, text: item.text === 'index' ? 'llm-ws' : `llm-ws/${item.text}` }));
}

const guides: DefaultTheme.SidebarItem[] = [
  { text: 'Getting started', link: '/guide/getting-started' },
  { text: 'Node server', link: '/guide/node' },
  { text: 'Browser client', link: '/guide/browser' },
  { text: 'Conversations', link: '/guide/conversations' },
  { text: 'Angular', link: '/guide/angular' },
  { text: 'RxJS recipes and testing', link: '/guide/rxjs' },
  { text: 'Human in the loop', link: '/guide/human-in-the-loop' },
  { text: 'Scaling: Redis, Cluster, Sentinel, PostgreSQL', link: '/guide/scaling' },
  { text: 'Security and limits', link: '/guide/security' },
  { text: 'Operations', link: '/guide/operations' },
  { text: 'The AI SDK and AG-UI', link: '/guide/ai-sdk-ag-ui' },
  { text: 'The CLI', link: '/guide/cli' },
  { text: 'Development and benchmark', link: '/guide/contributing' },
];

const reference: DefaultTheme.SidebarItem[] = [
  { text: 'Wire protocol', link: '/PROTOCOL' },
  { text: 'Scaling in depth', link: '/SCALING' },
  { text: 'Architecture', link: '/ARCHITECTURE' },
  { text: 'API reference', link: '/api/' },
  { text: 'Changelog', link: '/changelog' },
];

// Anchors as GitHub makes them, so a link such as PROTOCOL.md#error-codes works on the site and
// on GitHub alike.
const slugger = new GithubSlugger();

export default defineConfig({
  title: 'llm-ws',
  description: 'Stream LLM conversations over WebSocket with RxJS',
  // Local files only: the package's README, tests and scripts read docs/*.md where they are.
  srcExclude: ['**/node_modules/**'],
  base: process.env.DOCS_BASE ?? '/',
  lastUpdated: false,
  // Samples name the local server (http://localhost:3000/...): not pages of this site.
  ignoreDeadLinks: 'localhostLinks',
  markdown: {
    anchor: {
      slugify: (text: string) => {
        slugger.reset();
        return slugger.slug(text);
      },
    },
  },
  themeConfig: {
    search: { provider: 'local' },
    nav: [
      { text: 'Guides', link: '/guide/getting-started' },
      { text: 'Protocol', link: '/PROTOCOL' },
      { text: 'API', link: '/api/' },
      { text: `v${version}`, link: '/changelog' },
    ],
    sidebar: {
      '/api/': [{ text: 'API reference', link: '/api/', items: apiSidebar() }],
      '/': [
        { text: 'Guides', items: guides },
        { text: 'Reference', items: reference },
      ],
    },
    outline: [2, 3],
    socialLinks: [{ icon: 'github', link: 'https://github.com/llm-ws/llm-ws' }],
  },
});
