import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { docSamples } from '../consumers/doc-samples';

/**
 * The Angular compiler (ngc) in strict mode with strictTemplates compiles the example app
 * (examples/angular: its component, config and bootstrap), the TestBed specs' components and the
 * Angular guide's samples (docs/guide/angular.md, each a file as the user pastes it), and rejects what an Angular user's strict build rejects: a template that reads a field a
 * chat message does not have, and the old example's `@Injectable()` service whose constructor
 * takes options without an injection token (NG2003).
 */
const root = join(__dirname, '..', '..');
const ngc = join(root, 'node_modules', '@angular', 'compiler-cli', 'bundles', 'src', 'bin', 'ngc.js');

async function compile(project: string): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [ngc, '-p', project], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (data: Buffer) => (output += data.toString()));
  child.stderr.on('data', (data: Buffer) => (output += data.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  // Without colours, for the assertions and for a readable failure.
  // eslint-disable-next-line no-control-regex -- ESC starts the colour codes removed here.
  return { code, output: output.replace(/\x1b\[[0-9;]*m/g, '') };
}

describe('the Angular compiler, strict with strictTemplates', () => {
  it('compiles the example app and the TestBed specs', async () => {
    const { code, output } = await compile('test/angular/page/tsconfig.json');
    expect(output).toBe('');
    expect(code).toBe(0);
  }, 120_000);

  it("compiles the Angular guide's samples (docs/guide/angular.md) as a user pastes them", async () => {
    const samples = docSamples(root, 'docs/guide/angular.md');
    // The config and the component: a guide that lost one fails here rather than going unchecked.
    expect(samples.map((sample) => sample.code.split('\n')[0])).toEqual([
      '// app.config.ts',
      expect.stringMatching(/^\/\/ chat\.component\.ts/),
    ]);
    for (const sample of samples) expect(`${sample.where}: ${sample.mode} ${sample.note}`).toMatch(/ngc\.test\.ts/);
    const dir = join(root, 'test-artifacts', 'ngc-guide');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const files = samples.map((sample) => {
      // Each sample names its file in its first line (`// app.config.ts`).
      const name = /^\/\/ ([\w.-]+\.ts)/.exec(sample.code)?.[1] ?? sample.fileName;
      writeFileSync(join(dir, name), sample.code);
      return name;
    });
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({ extends: '../../examples/angular/tsconfig.json', compilerOptions: { outDir: 'out' }, files }),
    );
    const { code, output } = await compile(join(dir, 'tsconfig.json'));
    expect(output).toBe('');
    expect(code).toBe(0);
  }, 120_000);

  it('rejects a template that misreads a chat message, and an @Injectable() without a token for its options', async () => {
    const dir = join(root, 'test-artifacts', 'ngc-rejects');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'broken.ts'),
      `import { AsyncPipe } from '@angular/common';
import { Component, Injectable, inject } from '@angular/core';
import type { WSClientOptions } from 'llm-ws/client';
import { LlmWsChat } from 'llm-ws/angular';

@Injectable()
export class OldChatService {
  constructor(readonly options: WSClientOptions) {}
}

@Component({
  selector: 'broken-chat',
  imports: [AsyncPipe],
  template: \`@for (message of chat.messages$ | async; track message.id) { {{ message.content }} }\`,
})
export class BrokenChatComponent {
  readonly chat = inject(LlmWsChat);
}
`,
    );
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        extends: '../../examples/angular/tsconfig.json',
        compilerOptions: { outDir: 'out' },
        files: ['broken.ts'],
      }),
    );
    const { code, output } = await compile(join(dir, 'tsconfig.json'));
    expect(code).not.toBe(0);
    expect(output).toContain("Property 'content' does not exist on type 'ChatMessage'");
    expect(output).toContain('NG2003');
  }, 120_000);
});
