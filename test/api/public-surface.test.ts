/**
 * The package's public names, entry by entry, against the reviewed list in public-surface.json:
 * adding, removing or retyping an export is a semver decision, so it must show up in a diff.
 */
import {
  ENTRIES,
  readCommittedSurface,
  readPublicSurface,
  SURFACE_FILE,
  surfaceDifferences,
} from '../../scripts/public-surface';

const HOW_TO_UPDATE = `If the change is intended, run \`npx tsx scripts/public-surface.ts --write\` and commit ${SURFACE_FILE} with it.`;

describe('public surface', () => {
  // The TypeScript program over every entry takes a few seconds on a loaded machine.
  const actual = readPublicSurface();
  const expected = readCommittedSurface();

  it('covers every entry point', () => {
    expect(Object.keys(expected).sort()).toEqual(Object.keys(ENTRIES).sort());
  });

  it('exports exactly the reviewed names, values and types apart', () => {
    const differences = surfaceDifferences(expected, actual);
    if (differences.length) {
      throw new Error(
        `The public names changed (+ exported, not listed; - listed, not exported):\n${differences.join('\n')}\n${HOW_TO_UPDATE}`,
      );
    }
  });

  it('keeps the package root small: the rest belongs to a subpath', () => {
    const root = expected['llm-ws'];
    expect(root && root.values.length + root.types.length).toBeLessThanOrEqual(70);
  });

  it('names no internal module piece at the root', () => {
    const root = [...(actual['llm-ws']?.values ?? []), ...(actual['llm-ws']?.types ?? [])];
    for (const internal of [
      'createSession',
      'createConnection',
      'ReplayLog',
      'runReply',
      'secretsEqual',
      'newSessionIdentity',
      'eventsOfChunk',
    ]) {
      expect(root).not.toContain(internal);
    }
  });

  it('publishes the core and its ports from llm-ws/server, for adapters of other sockets and runtimes', () => {
    const server = actual['llm-ws/server'];
    expect(server?.values).toEqual(expect.arrayContaining(['makeServer', 'makeServerOptions']));
    expect(server?.types).toEqual(
      expect.arrayContaining([
        'Transport',
        'ConnectionHandler',
        'LLMWSCore',
        'MakeServerOptions',
        'SessionStore',
        'Logger',
      ]),
    );
    // The browser-safe root stays free of the server's core.
    expect(actual['llm-ws']?.values).not.toContain('makeServer');
  });
});
