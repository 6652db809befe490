/**
 * The option tables of the guides name the options the code has, and every one of them: the
 * `new WSServer(options)` and `openAIProvider(options)` tables of the Node guide against
 * `WSServerOptions` and `OpenAIProviderOptions`, the `new WSClient(options)` table of the browser
 * guide against `WSClientOptions` (their properties as the TypeScript checker reads them, deprecated
 * aliases aside), and the CLI guide's `llm-ws serve` table against the flags `llm-ws serve --help`
 * lists. A renamed option, a removed one or a new one the table lacks fails here, and so does a
 * default the table states that is not the code's (a `@default` tag's constant or literal, a
 * flag's default in `serve`).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { serveCommand } from '../../src/cli/serve';
import * as clientEntry from '../../src/client';
import * as serverEntry from '../../src/server';

const root = join(__dirname, '..', '..');

/** The rows of the first table after `heading` (a whole heading line) in a guide, as cells. */
function tableRows(guide: string, heading: string): string[][] {
  const text = readFileSync(join(root, guide), 'utf8');
  const start = text.split('\n').indexOf(heading);
  if (start < 0) throw new Error(`${guide} has no heading "${heading}"`);
  const lines = text.split('\n').slice(start + 1);
  const first = lines.findIndex((line) => line.startsWith('|'));
  const end = lines.findIndex((line, i) => i > first && !line.startsWith('|'));
  return (
    lines
      .slice(first + 2, end)
      // `a \| b` is a pipe inside a cell.
      .map((line) => line.split(/(?<!\\)\|/).slice(1, -1))
  );
}

/** The first backticked name of each row's first cell, up to a `.` (`conversationOptions.systemPrompt`). */
function optionNames(rows: string[][]): string[] {
  return rows.flatMap((cells) => {
    const name = /`([\w$]+)/.exec(cells[0] ?? '')?.[1];
    return name === undefined ? [] : [name];
  });
}

/** An option as the TypeScript checker reads it: its name and its `@default` tag's text. */
interface OptionProperty {
  readonly name: string;
  readonly defaultTag: string;
}

/** The properties of an exported interface, less those marked `@deprecated`, by name. */
function interfaceProperties(file: string, name: string): OptionProperty[] {
  const program = ts.createProgram([join(root, file)], {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
  });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(join(root, file));
  const declaration = source?.statements.find(
    (statement): statement is ts.InterfaceDeclaration =>
      ts.isInterfaceDeclaration(statement) && statement.name.text === name,
  );
  if (!declaration) throw new Error(`${file} declares no interface ${name}`);
  return checker
    .getTypeAtLocation(declaration)
    .getProperties()
    .filter((property) => !property.getJsDocTags(checker).some((tag) => tag.name === 'deprecated'))
    .map((property) => ({
      name: property.name,
      defaultTag: ts.displayPartsToString(
        property.getJsDocTags(checker).find((tag) => tag.name === 'default')?.text ?? [],
      ),
    }))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
}

/** The first backticked token of a table cell: the default it states (`3000`, `'/ws'`). */
const firstToken = (cell: string | undefined): string | undefined => /`([^`]+)`/.exec(cell ?? '')?.[1];

/**
 * The default a `@default` tag names, as the table writes it: a `DEFAULT_*` constant's value
 * (numbers bare, strings quoted), or a literal (`true`, `[]`, `'ws'`). Undefined for prose.
 */
function statedDefault(tag: string, constants: Record<string, unknown>): string | undefined {
  // What follows in parentheses says why (`2 (the SDK's default)`, `DEFAULT_X ('queue')`).
  const text = tag.replace(/\s*\([^)]*\)$/, '').trim();
  if (/^DEFAULT_\w+$/.test(text)) {
    const value = constants[text];
    if (typeof value === 'number') return String(value);
    if (typeof value === 'string') return `'${value}'`;
    return undefined;
  }
  return /^(true|false|\[\]|'[^']*'|\d+)$/.test(text) ? text : undefined;
}

describe("the guides' option tables", () => {
  const tables = [
    ['docs/guide/node.md', '### `new WSServer(options)`', 'src/server/options.ts', 'WSServerOptions'],
    ['docs/guide/node.md', '### `openAIProvider(options)`', 'src/llm/openai-provider.ts', 'OpenAIProviderOptions'],
    ['docs/guide/browser.md', '## `new WSClient(options)`', 'src/client/options.ts', 'WSClientOptions'],
  ] as const;

  it.each(tables)('%s "%s" names every option of %s, and no other', (guide, heading, file, name) => {
    const documented = optionNames(tableRows(guide, heading));
    expect(documented.length).toBeGreaterThan(5);
    expect([...new Set(documented)].sort()).toEqual(interfaceProperties(file, name).map((option) => option.name));
  });

  it.each(tables)(
    '%s "%s" states the default each option of %s has by its @default tag',
    (guide, heading, file, name) => {
      const constants: Record<string, unknown> = { ...serverEntry, ...clientEntry };
      const rows = new Map(tableRows(guide, heading).map((cells) => [optionNames([cells])[0], cells[1]]));
      const compared = interfaceProperties(file, name).flatMap(({ name: option, defaultTag }) => {
        const stated = statedDefault(defaultTag, constants);
        return stated === undefined ? [] : [{ option, stated, documented: firstToken(rows.get(option)) }];
      });
      // Most options name a constant or a literal: those are compared.
      expect(compared.length).toBeGreaterThanOrEqual(3);
      const wrong = compared.filter(({ stated, documented }) => stated !== documented);
      expect(wrong.map(({ option, stated, documented }) => `${option}: ${documented} (code: ${stated})`)).toEqual([]);
    },
  );

  it("the CLI guide's `llm-ws serve` table has every flag `llm-ws serve --help` lists, and no other", () => {
    const rows = tableRows('docs/guide/cli.md', '## `llm-ws serve`');
    const longFlag = /--[\w-]+/;
    // A flag's row names it first; a flag that goes with another (`--redis-sentinel-name`) may be
    // named in that one's row instead.
    const inFirstColumn = rows.flatMap((cells) => longFlag.exec(cells[0] ?? '')?.[0] ?? []);
    const anywhere = new Set(rows.flatMap((cells) => cells.join('|').match(/--[\w-]+/g) ?? []));
    const command = serveCommand();
    const help = command.helpInformation();
    const listed = command.options.flatMap((option) => option.long ?? []);
    expect(listed.length).toBeGreaterThan(20);
    // What `--help` prints is what the command has (commander hides none of them).
    for (const flag of listed) expect(help).toContain(flag);
    expect(listed.filter((flag) => !anywhere.has(flag))).toEqual([]);
    expect(inFirstColumn.filter((flag) => !listed.includes(flag))).toEqual([]);
  });

  it("the CLI guide's `llm-ws serve` table states each flag's default as `serve` has it", () => {
    const rows = new Map(
      tableRows('docs/guide/cli.md', '## `llm-ws serve`').map((cells) => [/--[\w-]+/.exec(cells[0] ?? '')?.[0], cells]),
    );
    const wrong = serveCommand().options.flatMap((option) => {
      const cell = rows.get(option.long)?.[2]?.trim();
      const value: unknown = option.defaultValue;
      if (typeof value === 'number' || typeof value === 'string')
        return firstToken(cell) === String(value) ? [] : [`${option.long}: ${cell} (code: ${String(value)})`];
      // A switch that is off unless given.
      if (value === false) return cell?.startsWith('off') ? [] : [`${option.long}: ${cell} (code: off)`];
      return [];
    });
    expect(wrong).toEqual([]);
  });
});
