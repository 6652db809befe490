import { build } from 'esbuild';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');

/** Bundles an entry for the browser, as a user's bundler would, and lists what went in. */
async function bundleForBrowser(entry: string): Promise<{ inputs: string[]; bytes: number }> {
  const result = await build({
    entryPoints: [join(root, entry)],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  return { inputs: Object.keys(result.metafile.inputs), bytes: result.outputFiles[0]?.contents.length ?? 0 };
}

describe.each(['src/client/index.ts', 'src/protocol/index.ts'])('%s', (entry) => {
  it('bundles for the browser without ws, openai or any node: module', async () => {
    const { inputs, bytes } = await bundleForBrowser(entry);
    expect(bytes).toBeGreaterThan(0);
    expect(inputs.filter((input) => /node_modules\/(ws|openai)\//.test(input))).toEqual([]);
    expect(inputs.filter((input) => /^node:|src\/(server|adapters|llm|testing|cli)\//.test(input))).toEqual([]);
  });
});

describe('src/testing/index.ts (llm-ws/testing)', () => {
  it('bundles for the browser without ws, openai, any node: module, or the Node-only test server', async () => {
    const { inputs, bytes } = await bundleForBrowser('src/testing/index.ts');
    expect(bytes).toBeGreaterThan(0);
    expect(inputs.filter((input) => /node_modules\/(ws|openai)\//.test(input))).toEqual([]);
    expect(inputs.filter((input) => /^node:|src\/(server|adapters|cli)\/|openai-test-server|validate-chat-request/.test(input))).toEqual([]);
  });
});
