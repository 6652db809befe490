/** The MCP servers `llm-ws serve` is told of with `--mcp`, `--mcp-url` and `--mcp-header`. */
import type { McpServerConfig } from '../tools/mcp/config';
import { splitCommandLine } from '../tools/mcp/split-command';

/** The flags, as commander parses them. */
export interface McpFlags {
  mcp: string[];
  mcpUrl: string[];
  mcpHeader: string[];
  mcpRequireApproval: boolean;
}

/** One `Name: value` header; throws a readable error for anything else. */
function parseHeader(text: string): [string, string] {
  const colon = text.indexOf(':');
  const name = colon > 0 ? text.slice(0, colon).trim() : '';
  if (name === '' || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name))
    throw new Error(`--mcp-header wants 'Name: value', got ${JSON.stringify(text.slice(0, 80))}`);
  return [name, text.slice(colon + 1).trim()];
}

/** The servers' configs; throws with a message for the user on a bad flag. */
export function mcpServersFromFlags(flags: McpFlags): McpServerConfig[] {
  const approval = flags.mcpRequireApproval ? { requireApproval: true } : {};
  const headers = Object.fromEntries(flags.mcpHeader.map(parseHeader));
  const commands = flags.mcp.map((line): McpServerConfig => {
    let words: string[];
    try {
      words = splitCommandLine(line);
    } catch (error) {
      throw new Error(`--mcp ${(error as Error).message}`, { cause: error });
    }
    const [command, ...args] = words;
    if (!command) throw new Error('--mcp wants a command, got an empty one');
    return { command, args, ...approval };
  });
  const urls = flags.mcpUrl.map((url): McpServerConfig => {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new Error(`--mcp-url ${JSON.stringify(url)} is not a URL`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
      throw new Error(`--mcp-url ${JSON.stringify(url)} must be http: or https:`);
    return { url, headers, ...approval };
  });
  if (flags.mcpHeader.length > 0 && urls.length === 0) throw new Error('--mcp-header goes with --mcp-url');
  return [...commands, ...urls];
}
