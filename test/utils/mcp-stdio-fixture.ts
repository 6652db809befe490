/**
 * The stdio test MCP server (test/tools/fixtures/mcp-stdio-server.ts) bundled by esbuild into one
 * CommonJS file, so each start is a plain `node file.cjs`: under tsx, compiling it on every
 * start took seconds on a loaded machine, longer than a connect may take.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';

/** Registers beforeAll/afterAll that build the server and remove it; `path()` is the built file. */
export function useStdioMcpFixture(): { path(): string } {
  let dir: string | undefined;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'llm-ws-mcp-fixture-'));
    await build({
      entryPoints: [join(__dirname, '..', 'tools', 'fixtures', 'mcp-stdio-server.ts')],
      outfile: join(dir, 'mcp-stdio-server.cjs'),
      bundle: true,
      platform: 'node',
      format: 'cjs',
      logLevel: 'silent',
    });
  }, 60_000);
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  return {
    path: () => {
      if (!dir) throw new Error('the fixture is built in beforeAll');
      return join(dir, 'mcp-stdio-server.cjs');
    },
  };
}
