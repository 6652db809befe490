/**
 * The public names of every entry point, read from the sources with the TypeScript compiler API:
 * what `import { … } from 'llm-ws…'` can name, split into runtime values and type-only names.
 * A declaration marked `@internal` is left out, as tsup's .d.ts build (`stripInternal`) leaves it
 * out (which fails the build when an entry re-exports it by name).
 *
 *   npx tsx scripts/public-surface.ts             print the counts (--names: and the names)
 *   npx tsx scripts/public-surface.ts --write     rewrite test/api/public-surface.json from the sources
 *   npx tsx scripts/public-surface.ts --dist      after `npm run build`: fail unless the built
 *                                                 dist/*.d.ts export exactly the reviewed names
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

const root = join(__dirname, '..');

/** The package's entry points (package.json `exports`) and the source module each is built from. */
export const ENTRIES: Readonly<Record<string, string>> = {
  'llm-ws': 'src/index.ts',
  'llm-ws/server': 'src/server/index.ts',
  'llm-ws/protocol': 'src/protocol/index.ts',
  'llm-ws/client': 'src/client/index.ts',
  'llm-ws/testing': 'src/testing/index.ts',
  'llm-ws/testing/node': 'src/testing/node/index.ts',
  'llm-ws/angular': 'src/angular/index.ts',
  'llm-ws/otel': 'src/otel/index.ts',
  'llm-ws/ag-ui': 'src/ag-ui/index.ts',
  'llm-ws/bun': 'src/bun/index.ts',
};

/** The built declaration file of each entry, as package.json `exports` names it for require(). */
export const DIST_ENTRIES: Readonly<Record<string, string>> = {
  'llm-ws': 'dist/index.d.ts',
  'llm-ws/server': 'dist/server.d.ts',
  'llm-ws/protocol': 'dist/protocol.d.ts',
  'llm-ws/client': 'dist/client.d.ts',
  'llm-ws/testing': 'dist/testing.d.ts',
  'llm-ws/testing/node': 'dist/testing/node.d.ts',
  'llm-ws/angular': 'dist/angular.d.ts',
  'llm-ws/otel': 'dist/otel.d.ts',
  'llm-ws/ag-ui': 'dist/ag-ui.d.ts',
  'llm-ws/bun': 'dist/bun.d.ts',
};

/** Where the reviewed list lives, relative to the repository. */
export const SURFACE_FILE = 'test/api/public-surface.json';

/** One entry's names: `values` exist at run time (functions, classes, constants), `types` only in TypeScript. */
export interface EntrySurface {
  values: string[];
  types: string[];
}

function isInternal(symbol: ts.Symbol): boolean {
  return (symbol.declarations ?? []).some((declaration) => {
    // A variable's JSDoc sits on its statement, two levels up from the declaration.
    const node = ts.isVariableDeclaration(declaration) ? declaration.parent.parent : declaration;
    return ts.getJSDocTags(node).some((tag) => tag.tagName.text === 'internal');
  });
}

function isTypeOnlyDeclaration(declaration: ts.Declaration): boolean {
  if (ts.isExportSpecifier(declaration)) return declaration.isTypeOnly || declaration.parent.parent.isTypeOnly;
  if (ts.isImportSpecifier(declaration))
    return declaration.isTypeOnly || declaration.parent.parent.phaseModifier === ts.SyntaxKind.TypeKeyword;
  if (ts.isImportClause(declaration)) return declaration.phaseModifier === ts.SyntaxKind.TypeKeyword;
  return false;
}

/** Whether an export reaches its declaration through an `export type` or `import type` on the way. */
function isTypeOnlyExport(checker: ts.TypeChecker, symbol: ts.Symbol): boolean {
  for (
    let alias: ts.Symbol | undefined = symbol;
    alias && alias.flags & ts.SymbolFlags.Alias;
    alias = checker.getImmediateAliasedSymbol(alias)
  ) {
    if ((alias.declarations ?? []).some(isTypeOnlyDeclaration)) return true;
  }
  return false;
}

/** Reads every entry's public names from the sources, or from other modules such as the built .d.ts. */
export function readPublicSurface(entries: Readonly<Record<string, string>> = ENTRIES): Record<string, EntrySurface> {
  const configPath = join(root, 'tsconfig.json');
  const config = ts.getParsedCommandLineOfConfigFile(
    configPath,
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
        throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
      },
    },
  );
  if (!config) throw new Error(`cannot read ${configPath}`);
  const files = Object.values(entries).map((file) => join(root, file));
  const program = ts.createProgram(files, { ...config.options, noEmit: true });
  const checker = program.getTypeChecker();
  const surface: Record<string, EntrySurface> = {};
  for (const [entry, file] of Object.entries(entries)) {
    const source = program.getSourceFile(join(root, file));
    const moduleSymbol = source && checker.getSymbolAtLocation(source);
    if (!moduleSymbol) throw new Error(`${file}: not a module`);
    const values: string[] = [];
    const types: string[] = [];
    for (const exported of checker.getExportsOfModule(moduleSymbol)) {
      const target = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      if (isInternal(target)) continue;
      // `export const X = t.type(…)` with `export type X = t.TypeOf<typeof X>` is one name, a value.
      const value = (target.flags & ts.SymbolFlags.Value) !== 0 && !isTypeOnlyExport(checker, exported);
      (value ? values : types).push(exported.name);
    }
    surface[entry] = { values: values.sort(), types: types.sort() };
  }
  return surface;
}

/** The list last reviewed and committed. */
export function readCommittedSurface(): Record<string, EntrySurface> {
  return JSON.parse(readFileSync(join(root, SURFACE_FILE), 'utf8')) as Record<string, EntrySurface>;
}

/** The differences between two surfaces, one line per name added or removed; empty when equal. */
export function surfaceDifferences(
  expected: Record<string, EntrySurface>,
  actual: Record<string, EntrySurface>,
): string[] {
  const lines: string[] = [];
  for (const entry of new Set([...Object.keys(expected), ...Object.keys(actual)])) {
    for (const kind of ['values', 'types'] as const) {
      const want = new Set(expected[entry]?.[kind] ?? []);
      const have = new Set(actual[entry]?.[kind] ?? []);
      for (const name of have) if (!want.has(name)) lines.push(`+ ${entry} ${kind}: ${name}`);
      for (const name of want) if (!have.has(name)) lines.push(`- ${entry} ${kind}: ${name}`);
    }
  }
  return lines;
}

if (require.main === module) {
  if (process.argv.includes('--dist')) {
    const differences = surfaceDifferences(readCommittedSurface(), readPublicSurface(DIST_ENTRIES));
    if (differences.length) {
      console.error(
        `The built dist/*.d.ts differ from ${SURFACE_FILE} (+ built, not listed; - listed, not built):\n${differences.join('\n')}`,
      );
      process.exit(1);
    }
    console.log(`dist/*.d.ts export the names of ${SURFACE_FILE}`);
    process.exit(0);
  }
  const surface = readPublicSurface();
  if (process.argv.includes('--write')) {
    writeFileSync(join(root, SURFACE_FILE), `${JSON.stringify(surface, null, 2)}\n`);
    console.log(`wrote ${SURFACE_FILE}`);
  }
  for (const [entry, { values, types }] of Object.entries(surface)) {
    console.log(`${entry}: ${values.length + types.length} names (${values.length} values, ${types.length} types)`);
    if (process.argv.includes('--names')) console.log(`  values: ${values.join(' ')}\n  types: ${types.join(' ')}`);
  }
}
