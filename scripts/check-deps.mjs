// The dependency rule of src/ (scripts/dependency-rules.mjs): which folder may import which,
// which packages stay out of browser and core code, and no folder-level cycles. Run by
// `npm run lint`; `--strict` also fails on the rules marked pending; `--graph` prints the folder graph.
import { readdirSync, readFileSync, existsSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import {
  allowedFiles,
  allowedFolders,
  forbiddenPackages,
  forbiddenReachable,
  pendingFolderImports,
} from './dependency-rules.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');
const strict = process.argv.includes('--strict');

function sourceFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.tsx?$/.test(name) && !name.endsWith('.d.ts') ? [path] : [];
  });
}

/** `src/store/redis/x.ts` -> `store`; `src/errors.ts` -> `errors`. */
function folderOf(file) {
  const [first, second] = relative(src, file).split(sep);
  return second === undefined ? first.replace(/\.tsx?$/, '') : first;
}

function resolveRelative(from, specifier) {
  const base = resolve(dirname(from), specifier);
  for (const candidate of [`${base}.ts`, `${base}.tsx`, join(base, 'index.ts'), base]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return undefined;
}

const packageName = (specifier) =>
  specifier.startsWith('node:')
    ? specifier
    : specifier
        .split('/')
        .slice(0, specifier.startsWith('@') ? 2 : 1)
        .join('/');
const matches = (pattern, name) => (typeof pattern === 'string' ? pattern === name : pattern.test(name));
const display = (file) => relative(root, file);

const problems = [];
const pendingSeen = [];
const folderEdges = new Map(); // "from -> to" -> the imports that make it
const fileImports = new Map(); // file -> the files of src/ it imports
const filePackages = new Map(); // file -> the packages it imports
for (const file of sourceFiles(src)) {
  fileImports.set(file, []);
  filePackages.set(file, []);
  const folder = folderOf(file);
  // Every import and re-export, type-only ones included: a type import is a dependency too.
  for (const { fileName: specifier } of ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles) {
    if (specifier.startsWith('.')) {
      const target = resolveRelative(file, specifier);
      if (!target) {
        problems.push(`${display(file)}: cannot resolve '${specifier}'`);
        continue;
      }
      fileImports.get(file).push(target);
      const to = folderOf(target);
      if (to === folder) continue;
      const files = allowedFiles[folder]?.[to];
      if (files && !files.includes(display(target)))
        problems.push(
          `${display(file)}: ${folder}/ may import only ${files.join(', ')} of ${to}/, not ${display(target)}`,
        );
      const key = `${folder} -> ${to}`;
      if (!folderEdges.has(key)) folderEdges.set(key, []);
      folderEdges.get(key).push(`${display(file)} imports ${display(target)}`);
      continue;
    }
    const name = packageName(specifier);
    filePackages.get(file).push(name);
    for (const rule of forbiddenPackages) {
      if (rule.folder !== folder || rule.except?.includes(display(file))) continue;
      if (rule.packages.some((pattern) => matches(pattern, name)))
        problems.push(`${display(file)}: ${folder}/ must not import the package '${specifier}'`);
    }
  }
}

// Packages reached through chains of imports: the first chain found to each is reported.
for (const rule of forbiddenReachable) {
  for (const start of fileImports.keys()) {
    if (folderOf(start) !== rule.folder) continue;
    const via = new Map([[start, undefined]]);
    const queue = [start];
    while (queue.length > 0) {
      const file = queue.shift();
      const name = (filePackages.get(file) ?? []).find((candidate) =>
        rule.packages.some((pattern) => matches(pattern, candidate)),
      );
      if (name !== undefined) {
        const chain = [];
        for (let step = file; step !== undefined; step = via.get(step)) chain.unshift(display(step));
        problems.push(`${display(start)}: ${rule.folder}/ must not reach the package '${name}': ${chain.join(' -> ')}`);
        break;
      }
      for (const next of fileImports.get(file) ?? [])
        if (!via.has(next)) {
          via.set(next, file);
          queue.push(next);
        }
    }
  }
}

const isPending = (from, to) => pendingFolderImports.find((rule) => rule.from === from && rule.to === to);
const activeEdges = new Map();
for (const [key, imports] of folderEdges) {
  const example = imports.length > 1 ? `\n    ${imports.join('\n    ')}` : imports[0];
  const [from, to] = key.split(' -> ');
  const allowed = allowedFolders[from];
  const pending = isPending(from, to);
  if (allowed && !allowed.includes(to)) {
    if (pending && !strict) {
      pendingSeen.push(`${key}: ${imports.length} import(s), allowed until ${pending.until} (--strict lists them)`);
      continue;
    }
    problems.push(`${from}/ must not import ${to}/: ${example}`);
  }
  if (pending && !strict) continue;
  if (!activeEdges.has(from)) activeEdges.set(from, []);
  activeEdges.get(from).push(to);
}

// Folder-level cycles: strongly connected components of more than one folder (Tarjan).
const index = new Map();
const low = new Map();
const stack = [];
const onStack = new Set();
let counter = 0;
function visit(node) {
  index.set(node, counter);
  low.set(node, counter++);
  stack.push(node);
  onStack.add(node);
  for (const next of activeEdges.get(node) ?? []) {
    if (!index.has(next)) {
      visit(next);
      low.set(node, Math.min(low.get(node), low.get(next)));
    } else if (onStack.has(next)) {
      low.set(node, Math.min(low.get(node), index.get(next)));
    }
  }
  if (low.get(node) === index.get(node)) {
    const component = [];
    let member;
    do {
      member = stack.pop();
      onStack.delete(member);
      component.push(member);
    } while (member !== node);
    if (component.length > 1) {
      const inside = [...folderEdges].filter(
        ([key]) => component.includes(key.split(' -> ')[0]) && component.includes(key.split(' -> ')[1]),
      );
      problems.push(
        `folder-level cycle among ${component.sort().join(', ')}:\n${inside.map(([key, imports]) => `    ${key}: ${imports[0]}${imports.length > 1 ? ` (+${imports.length - 1} more)` : ''}`).join('\n')}`,
      );
    }
  }
}
for (const node of new Set([...activeEdges.keys(), ...[...activeEdges.values()].flat()]))
  if (!index.has(node)) visit(node);

if (process.argv.includes('--graph')) {
  for (const key of [...folderEdges.keys()].sort()) console.log(`  ${key}`);
}
for (const line of pendingSeen) console.warn(`pending: ${line}`);
if (problems.length) {
  console.error(
    `Dependency rule broken (scripts/dependency-rules.mjs says what may import what):\n${problems.map((line) => `  ${line}`).join('\n')}`,
  );
  process.exit(1);
}
console.log(
  `dependency rule holds: ${folderEdges.size} folder imports checked${strict ? ', pending rules included' : pendingSeen.length ? `, ${pendingSeen.length} pending` : ''}`,
);
