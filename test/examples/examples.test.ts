import { join } from 'node:path';
import { spawn } from 'node:child_process';

describe('examples', () => {
  const root = join(__dirname, '../..');
  const runExample = async (command: string, args: string[]): Promise<{ code: number | null; output: string }> => {
    const child = spawn(command, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (data: Buffer) => (output += data.toString()));
    child.stderr.on('data', (data: Buffer) => (output += data.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    return { code, output };
  };

  it.each([
    ['Node (tsx)', process.execPath, ['--import', 'tsx', 'examples/ws-integration-test.ts']],
    ['Bun', join(root, 'node_modules/.bin/bun'), ['run', 'examples/ws-integration-test.ts']],
  ])('ws-integration-test.ts passes under %s', async (_runtime, command, args) => {
    const { code, output } = await runExample(command, args);
    expect(output).toContain('all checks passed');
    expect(code).toBe(0);
  });

  // examples/angular (the Angular chat component) is compiled by test/angular/ngc.test.ts and run in TestBed by test/angular/testbed.test.ts.
});
