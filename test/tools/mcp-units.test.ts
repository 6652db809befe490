/** The pure parts of the MCP tool source: names, command lines, results as the model sees them. */
import { ToolError } from '../../src/errors';
import { mcpConfigProblem } from '../../src/tools/mcp/config';
import { mcpPrefix, mcpToolName, toolNameSafe } from '../../src/tools/mcp/names';
import { mcpResultForModel, nestedDeeperThan } from '../../src/tools/mcp/result';
import { splitCommandLine } from '../../src/tools/mcp/split-command';

const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;
const none = (): boolean => false;

describe('MCP tool names', () => {
  it.each([
    ['weather', 'forecast', 'weather__forecast'],
    ['my-server', 'get_thing', 'my-server__get_thing'],
  ])('%s + %s is %s', (server, tool, name) => {
    expect(mcpToolName(mcpPrefix(server), tool, none)).toBe(name);
  });

  it('replaces characters the model API refuses, and cuts long names with a hash that tells them apart', () => {
    expect(toolNameSafe('files.v2 (beta)')).toBe('files_v2__beta_');
    expect(mcpPrefix('')).toBe('mcp');
    const a = mcpToolName('srv', `${'x'.repeat(70)}_a`, none);
    const b = mcpToolName('srv', `${'x'.repeat(70)}_b`, none);
    const dotted = mcpToolName('srv', 'get.item', none);
    for (const name of [a, b, dotted]) expect(name).toMatch(TOOL_NAME);
    expect(a).not.toBe(b);
    expect(dotted).toMatch(/^srv__get_item_[0-9a-f]{8}$/);
    // Stable: the same pair always gets the same name (two processes agree).
    expect(mcpToolName('srv', 'get.item', none)).toBe(dotted);
  });

  it('never reuses a name that is taken', () => {
    const name = mcpToolName('srv', 'echo', (candidate) => candidate === 'srv__echo');
    expect(name).toMatch(/^srv__echo_[0-9a-f]{8}$/);
  });
});

describe('splitCommandLine', () => {
  it.each([
    ['node server.js', ['node', 'server.js']],
    ['  npx   -y  @scope/pkg  ', ['npx', '-y', '@scope/pkg']],
    [`python "my server.py" --name 'a b'`, ['python', 'my server.py', '--name', 'a b']],
    [String.raw`cmd a\ b "say \"hi\"" ''`, ['cmd', 'a b', 'say "hi"', '']],
  ])('%s', (line, words) => {
    expect(splitCommandLine(line)).toEqual(words);
  });

  it('refuses an unclosed quote', () => {
    expect(() => splitCommandLine(`node "server.js`)).toThrow(SyntaxError);
  });
});

describe('mcpConfigProblem', () => {
  it.each([
    [{}, 'needs either command or url (not both)'],
    [{ command: 'x', url: 'http://a' }, 'needs either command or url (not both)'],
    [{ url: 'ftp://a' }, 'url must be http: or https:'],
    [{ url: 'nope' }, 'url "nope" is not a URL'],
    [{ command: 'x', requireApproval: 'yes' }, 'requireApproval must be true, false or a list of tool names'],
    [{ command: 'x', maxResultBytes: 0 }, 'maxResultBytes must be a whole number of 1 or more'],
  ])('%j: %s', (config, problem) => {
    expect(mcpConfigProblem(config as never)).toBe(problem);
  });

  it('takes a command or a URL', () => {
    expect(mcpConfigProblem({ command: 'node', args: ['s.js'] })).toBeUndefined();
    expect(
      mcpConfigProblem({ url: 'https://mcp.example.com/mcp', headers: { Authorization: 'Bearer x' } }),
    ).toBeUndefined();
  });
});

describe('mcpResultForModel', () => {
  const view = (result: unknown, maxBytes?: number) => mcpResultForModel('srv', 'tool', result, maxBytes);

  it.each([
    [
      'text blocks, joined',
      {
        content: [
          { type: 'text', text: 'a' },
          { type: 'text', text: 'b' },
        ],
      },
      'a\nb',
    ],
    ['no content', { content: [] }, ''],
    ['structured content first', { content: [{ type: 'text', text: '{}' }], structuredContent: { n: 1 } }, { n: 1 }],
    [
      'binary blocks described',
      {
        content: [
          { type: 'audio', data: 'AAAA', mimeType: 'audio/wav' },
          { type: 'resource_link', uri: 'file:///a', name: 'a' },
          { type: 'resource', resource: { uri: 'file:///b', mimeType: 'text/plain', text: 'hi' } },
        ],
      },
      [
        { type: 'audio', mediaType: 'audio/wav', bytes: 3 },
        { type: 'resource_link', uri: 'file:///a', name: 'a' },
        { type: 'resource', uri: 'file:///b', mediaType: 'text/plain', text: 'hi' },
      ],
    ],
  ])('%s', (_, result, expected) => {
    expect(view(result)).toEqual(expected);
  });

  it.each([
    [
      'an error result',
      { isError: true, content: [{ type: 'text', text: 'boom' }] },
      'MCP server srv, tool tool failed: boom',
    ],
    ['not an object', 'text', 'mcp_bad_result: MCP server srv, tool tool answered with no result object'],
    [
      'content not a list',
      { content: { type: 'text' } },
      'mcp_bad_result: MCP server srv, tool tool answered with content that is not a list',
    ],
    [
      'too large',
      { content: [{ type: 'text', text: 'x'.repeat(200) }] },
      'mcp_result_too_large: MCP server srv, tool tool answered with 239 bytes; the limit is 100',
    ],
  ])('%s is a tool error', (_, result, message) => {
    const attempt = () => view(result, 100);
    expect(attempt).toThrow(ToolError);
    expect(attempt).toThrow(message);
  });

  it('refuses nesting deeper than 64 without overflowing the stack', () => {
    let deep: unknown = {};
    for (let i = 0; i < 200_000; i++) deep = [deep];
    expect(nestedDeeperThan(deep, 64)).toBe(true);
    expect(() => view({ content: [], structuredContent: { deep } })).toThrow(
      'mcp_bad_result: MCP server srv, tool tool answered with JSON nested deeper than 64',
    );
    expect(nestedDeeperThan({ a: [{ b: 1 }] }, 64)).toBe(false);
  });
});
