import { build } from 'esbuild';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');

describe('llm-ws/testing (src/testing/index.ts)', () => {
  it('bundles for the browser without ws, openai, io-ts, any node: module, or the Node-only test server', async () => {
    const result = await build({
      entryPoints: [join(root, 'src/testing/index.ts')],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(result.outputFiles[0]?.contents.length).toBeGreaterThan(0);
    expect(inputs.filter((input) => /node_modules\/(ws|openai|io-ts)\//.test(input))).toEqual([]);
    expect(
      inputs.filter((input) =>
        /^node:|src\/(server|adapters|cli)\/|openai-test-server|validate-chat-request|protocol\/codecs/.test(input),
      ),
    ).toEqual([]);
  });
});
