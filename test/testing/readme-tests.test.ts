import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeConsumerApp, makeTempDir, packOnce, removeDir } from '../consumers/pack';

/**
 * The RxJS guide's (docs/guide/rxjs.md) "Testing your code" tests, as written, under Jest (globals) and Vitest (its first
 * line's import uncommented): the two ```ts blocks of that section make one test file. It runs in
 * a fresh app with the packed llm-ws installed (test/consumers/pack.ts), so `llm-ws/client`,
 * `llm-ws/testing` and rxjs are the package's and the app's, one rxjs for both; Jest is the
 * repo's (with ts-jest, type-checking the file strictly), Vitest the app's own.
 */
const root = join(__dirname, '..', '..');
let temp: string | undefined;
let dir: string;

function readmeTestFile(): string {
  const readme = readFileSync(join(root, 'docs', 'guide', 'rxjs.md'), 'utf8');
  const start = readme.indexOf('\n## Testing your code\n');
  const end = readme.indexOf('\n## ', start + 1);
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

beforeAll(async () => {
  temp = makeTempDir('readme-tests');
  dir = await makeConsumerApp(join(temp, 'app'), await packOnce(), {
    dependencies: { vitest: '^4.1.12', '@types/jest': '^30.0.0' },
  });
}, 300_000);
afterAll(() => removeDir(temp));

describe("the RxJS guide's tests", () => {
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
        transform: {
          '^.+\\.ts$': [
            require.resolve('ts-jest'),
            {
              // A user's strict settings; llm-ws's types come from the installed package.
              tsconfig: {
                target: 'es2022',
                module: 'commonjs',
                moduleResolution: 'node10',
                strict: true,
                esModuleInterop: true,
                types: ['jest'],
              },
              diagnostics: { warnOnly: false },
            },
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
  test: { include: ['readme.vitest.test.ts'], globals: false },
};
`,
    );
    const { code, output } = await run(join(dir, 'node_modules', 'vitest', 'vitest.mjs'), ['run', '--root', dir]);
    expect(output).toMatch(/Tests\s+2 passed \(2\)/);
    expect(code).toBe(0);
  }, 120_000);
});
