import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The README's "Testing your code" tests, as written, under Jest (globals) and Vitest (its first
 * line's import uncommented): the two ```ts blocks of that section make one test file. The
 * package names resolve to the sources (as the repo's own jest config maps them).
 */
const root = join(__dirname, '..', '..');
const dir = join(root, 'test-artifacts', 'readme-tests');

function readmeTestFile(): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const start = readme.indexOf('### Testing your code');
  const end = readme.indexOf('\n## ', start);
  const section = readme.slice(start, end);
  const blocks = section
    .split('```ts\n')
    .slice(1)
    .map((block) => block.slice(0, block.indexOf('```')));
  if (blocks.length !== 2) throw new Error(`expected two ts blocks in "Testing your code", found ${blocks.length}`);
  return blocks.join('\n');
}

async function run(command: string, args: string[]): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [command, ...args], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, CI: '1', NO_COLOR: '1', FORCE_COLOR: '0' },
  });
  let output = '';
  child.stdout.on('data', (data: Buffer) => (output += data.toString()));
  child.stderr.on('data', (data: Buffer) => (output += data.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, output };
}

const source = (entry: string) => join(root, 'src', entry, 'index.ts');

beforeAll(() => {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
});

describe("the README's tests", () => {
  it('pass under Jest as written', async () => {
    const file = readmeTestFile();
    expect(file.startsWith("// import { expect, it } from 'vitest';")).toBe(true);
    writeFileSync(join(dir, 'readme.jest.test.ts'), file);
    writeFileSync(
      join(dir, 'jest.config.json'),
      JSON.stringify({
        rootDir: dir,
        testMatch: ['**/readme.jest.test.ts'],
        testEnvironment: 'node',
        moduleNameMapper: { '^llm-ws/(client|testing)$': join(root, 'src', '$1', 'index.ts') },
        transform: {
          '^.+\\.ts$': [
            require.resolve('ts-jest'),
            { tsconfig: join(root, 'tsconfig.json'), diagnostics: { warnOnly: false } },
          ],
        },
      }),
    );
    const { code, output } = await run(join(root, 'node_modules', 'jest', 'bin', 'jest.js'), [
      '--config',
      'jest.config.json',
      '--rootDir',
      dir,
    ]);
    expect(output).toContain('Tests:       2 passed, 2 total');
    expect(code).toBe(0);
  }, 120_000);

  it('pass under Vitest, its import uncommented', async () => {
    const file = readmeTestFile().replace(
      "// import { expect, it } from 'vitest';",
      "import { expect, it } from 'vitest';",
    );
    writeFileSync(join(dir, 'readme.vitest.test.ts'), file);
    writeFileSync(
      join(dir, 'vitest.config.mjs'),
      `export default {
  resolve: { alias: { 'llm-ws/client': ${JSON.stringify(source('client'))}, 'llm-ws/testing': ${JSON.stringify(source('testing'))} } },
  test: { include: ['readme.vitest.test.ts'], globals: false },
};
`,
    );
    const { code, output } = await run(join(root, 'node_modules', 'vitest', 'vitest.mjs'), ['run', '--root', dir]);
    expect(output).toMatch(/Tests\s+2 passed \(2\)/);
    expect(code).toBe(0);
  }, 120_000);
});
