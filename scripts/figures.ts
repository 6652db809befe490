/**
 * `npm run figures`: the measured figures the docs state, measured again and written in place.
 * A figure stands in a Markdown file between markers, so prose around it is free:
 *
 *   <!-- figure:package -->466 kB packed, 1.71 MB unpacked<!-- /figure -->
 *
 * Every `*.md` file of the repository (README.md, docs/, bench/) is searched. Each name below is
 * one measurement of the built package (run `npm run build` first), or a figure of the benchmark's
 * last run as `npm run bench` wrote it in bench/results.json (`bench.*`: read, not measured here,
 * since a bench run takes minutes; so a stated figure is the one bench/RESULTS.md shows):
 *
 *   npm run figures              measure, rewrite every marker, print the figures
 *   npm run figures -- --check   measure and fail if a stated figure is off by more than
 *                                TOLERANCE from the measurement (CI runs this), or names a figure
 *                                this script does not know
 *
 * The tolerance keeps a change of a few bytes from failing CI while a figure that went stale (a
 * tenth off) cannot stand; times (`npm start`'s, cold and warm) may not measure more than TIME_FACTOR slower.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { measureBundleSizes } from '../bench/bundle-size';

const root = join(__dirname, '..');
/** How far a stated figure may be from the measured one before `--check` fails it. */
const TOLERANCE = 0.05;

/**
 * How much slower than stated a time may measure: times vary with the machine's load far more
 * than sizes do (a busy machine took three times as long), yet a start that got this much slower
 * than the docs say still fails. A time measured faster than stated passes: the docs then promise
 * less than users get.
 */
const TIME_FACTOR = 3;

/** A figure's text and the numbers in it that `--check` compares. */
interface Figure {
  readonly text: string;
  readonly values: readonly number[];
  /** A time: compared within TIME_FACTOR, not TOLERANCE. */
  readonly time?: boolean;
}

/** 1,000-based units, as npm prints sizes; three significant digits. */
function size(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  const digits = unit === 0 || value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${value.toFixed(digits)} ${units[unit]}`;
}

/** Bytes, written out: budgets and bundle sizes are compared byte for byte elsewhere. */
const bytes = (count: number): string => `${count.toLocaleString('en-US')} B`;

/** Every number in a figure's text, in its unit's bytes where it names one. */
function valuesIn(text: string): number[] {
  const values: number[] = [];
  const scale: Record<string, number> = { B: 1, kB: 1e3, KB: 1e3, MB: 1e6, GB: 1e9 };
  // Figures are short (one marker's text, checked below), so this scan is bounded.
  for (const match of text.matchAll(/(\d[\d,]*(?:\.\d+)?)\s*(B|kB|KB|MB|GB)?/g)) {
    const number = Number((match[1] as string).replace(/,/g, ''));
    values.push(number * (match[2] ? (scale[match[2]] as number) : 1));
  }
  return values;
}

function figure(text: string): Figure {
  return { text, values: valuesIn(text) };
}

function seconds(ms: number): Figure {
  const value = ms / 1000;
  return { text: `${value.toFixed(1)} s`, values: [Number(value.toFixed(1))], time: true };
}

/** Milliseconds from `npm start`'s command (tsx scripts/start.ts) to its "listening on" line. */
async function timeToListen(): Promise<number> {
  const started = performance.now();
  const child = spawn(
    join(root, 'node_modules', '.bin', 'tsx'),
    ['scripts/start.ts', '--port', '0', '--host', '127.0.0.1'],
    {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  try {
    return await new Promise<number>((resolve, reject) => {
      let output = '';
      const timer = setTimeout(() => reject(new Error(`npm start did not listen within 60 s:\n${output}`)), 60_000);
      child.stdout.on('data', (data: Buffer) => {
        output += data.toString();
        if (output.includes('listening on')) {
          clearTimeout(timer);
          resolve(performance.now() - started);
        }
      });
      child.stderr.on('data', (data: Buffer) => (output += data.toString()));
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`npm start exited with ${String(code)}:\n${output}`));
      });
    });
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
}

/** Bytes of every file under `dir`. */
function sizeOfTree(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += sizeOfTree(path);
    else if (entry.isFile()) total += statSync(path).size;
  }
  return total;
}

/** The installed size of `npm install llm-ws` (the packed tarball) in a fresh app, and its packages. */
function installSize(tarball: string): { bytes: number; packages: number; largest: Array<[string, number]> } {
  const app = mkdtempSync(join(tmpdir(), 'llm-ws-figures-'));
  try {
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, dependencies: {} }));
    execFileSync('npm', ['install', tarball, '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], {
      cwd: app,
      stdio: 'ignore',
    });
    const modules = join(app, 'node_modules');
    const packages: Array<[string, number]> = [];
    for (const entry of readdirSync(modules)) {
      if (entry.startsWith('.')) continue;
      const names = entry.startsWith('@') ? readdirSync(join(modules, entry)).map((n) => `${entry}/${n}`) : [entry];
      for (const name of names) packages.push([name, sizeOfTree(join(modules, name))]);
    }
    packages.sort((a, b) => b[1] - a[1]);
    return { bytes: sizeOfTree(modules), packages: packages.length, largest: packages.slice(0, 3) };
  } finally {
    rmSync(app, { recursive: true, force: true });
  }
}

/** What `npm run bench` wrote in bench/results.json, of the figures the docs state. */
interface BenchResults {
  readonly stalled: Record<string, { readonly othersP99Ms: number; readonly peakRssGrowthMb: number }>;
  readonly storm: Record<string, { readonly settleMs: number }>;
}

/** Milliseconds as the bench's tables round them in prose: whole, with a thousands separator. */
function ms(value: number): Figure {
  return figure(`${Math.round(value).toLocaleString('en-US')} ms`);
}

/**
 * The benchmark's figures the docs state, per arm (`llm-ws`, `bare`, `socket.io`): the stalled
 * reader's server RSS growth and the other streams' p99, and the reconnect storm's time to settle.
 */
function benchFigures(): Record<string, Figure> {
  const results = JSON.parse(readFileSync(join(root, 'bench', 'results.json'), 'utf8')) as BenchResults;
  const figures: Record<string, Figure> = {};
  for (const [arm, stalled] of Object.entries(results.stalled)) {
    figures[`bench.stalled-rss.${arm}`] = figure(`${stalled.peakRssGrowthMb.toFixed(1)} MB`);
    figures[`bench.stalled-p99.${arm}`] = ms(stalled.othersP99Ms);
  }
  for (const [arm, storm] of Object.entries(results.storm)) figures[`bench.storm.${arm}`] = ms(storm.settleMs);
  return figures;
}

/** Every figure, measured (or, for the bench's, read). */
async function measure(): Promise<Record<string, Figure>> {
  if (!existsSync(join(root, 'dist', 'index.js'))) throw new Error('dist/ is not built: run npm run build first');
  const packDir = mkdtempSync(join(tmpdir(), 'llm-ws-figures-pack-'));
  try {
    const [packed] = JSON.parse(
      execFileSync('npm', ['pack', '--json', '--pack-destination', packDir, '--loglevel=error'], {
        cwd: root,
        encoding: 'utf8',
      }),
    ) as Array<{ filename: string; size: number; unpackedSize: number }>;
    if (!packed) throw new Error('npm pack printed no file');
    const install = installSize(join(packDir, packed.filename));
    const apps = await measureBundleSizes();
    const app = (name: string): number => apps.find((a) => a.app === name)?.gzippedBytes ?? NaN;
    rmSync(join(root, 'node_modules', '.cache', 'llm-ws', 'start'), { recursive: true, force: true });
    const startFirst = await timeToListen();
    const startNext = await timeToListen();
    const browserModule = gzipSync(readFileSync(join(root, 'dist', 'demo', 'llm-ws-client.js')), { level: 9 }).length;
    return {
      package: figure(`${size(packed.size)} packed, ${size(packed.unpackedSize)} unpacked`),
      'cli-bundle': figure(size(statSync(join(root, 'dist', 'cli', 'index.js')).size)),
      install: figure(
        `${size(install.bytes)} in ${install.packages} packages, of which ${install.largest
          .map(([name, b]) => `\`${name}\` ${size(b)}`)
          .join(', ')}`,
      ),
      'minimal-app': figure(bytes(app('llm-ws'))),
      'minimal-app-es2015': figure(bytes(app('llm-ws (rxjs es2015)'))),
      'minimal-app-wsclient': figure(bytes(app('llm-ws WSClient'))),
      // What opting in to approvals and client tools adds to the WSClient app (approving each request).
      'human-in-the-loop': figure(bytes(app('llm-ws WSClient + humanInTheLoop') - app('llm-ws WSClient'))),
      'minimal-app-socket.io': figure(bytes(app('socket.io-client'))),
      'minimal-app-graphql-ws': figure(bytes(app('graphql-ws'))),
      'browser-module': figure(size(browserModule)),
      'start-first': seconds(startFirst),
      'start-next': seconds(startNext),
      ...benchFigures(),
    };
  } finally {
    rmSync(packDir, { recursive: true, force: true });
  }
}

/** TypeDoc's pages (`npm run docs:build`): generated, and rewritten while CI's docs build runs. */
const GENERATED_API_DOCS = join(root, 'docs', 'api');

/** Markdown files of the repository, outside node_modules, dist, dot-folders and docs/api. */
function markdownFiles(dir = root): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.name.startsWith('.') || entry.name === 'node_modules' || entry.name === 'dist') return [];
    const path = join(dir, entry.name);
    if (path === GENERATED_API_DOCS) return [];
    if (entry.isDirectory()) return markdownFiles(path);
    return entry.name.endsWith('.md') ? [path] : [];
  });
}

const MARKER = /<!-- figure:([\w.-]+) -->([^<]{0,300})<!-- \/figure -->/g;

async function main(): Promise<void> {
  const check = process.argv.includes('--check');
  const figures = await measure();
  const problems: string[] = [];
  let markers = 0;
  for (const file of markdownFiles()) {
    const text = readFileSync(file, 'utf8');
    const updated = text.replace(MARKER, (whole, name: string, stated: string) => {
      markers++;
      const measured = figures[name];
      const where = `${relative(root, file)}: figure:${name}`;
      if (!measured) {
        problems.push(`${where} is not a figure this script measures (${Object.keys(figures).join(', ')})`);
        return whole;
      }
      const statedValues = valuesIn(stated);
      const close = (statedValue: number, value: number): boolean =>
        measured.time ? value <= statedValue * TIME_FACTOR : Math.abs(statedValue - value) <= TOLERANCE * value;
      const off =
        statedValues.length !== measured.values.length ||
        measured.values.some((value, i) => !close(statedValues[i] as number, value));
      if (off) problems.push(`${where} says "${stated}", measured "${measured.text}"`);
      return `<!-- figure:${name} -->${measured.text}<!-- /figure -->`;
    });
    if (!check && updated !== text) writeFileSync(file, updated);
  }
  for (const [name, { text }] of Object.entries(figures)) console.log(`${name}: ${text}`);
  if (check && problems.length > 0) {
    console.error(`Stale figures (npm run figures rewrites them):\n${problems.map((p) => `- ${p}`).join('\n')}`);
    process.exit(1);
  }
  console.log(`${markers} figure markers ${check ? 'checked' : 'written'}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
