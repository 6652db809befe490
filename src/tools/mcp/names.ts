/**
 * The names an MCP server's tools get beside the server's own: `<server>__<tool>`, in the
 * charset and length the OpenAI API takes for tool names (1 to 64 of `a-z A-Z 0-9 _ -`).
 */
import { createHash } from 'node:crypto';

/** Longest tool name the OpenAI API takes. */
export const MAX_TOOL_NAME_LENGTH = 64;
/** Between the server's name and the tool's in an MCP tool's name as the model sees it. */
export const MCP_TOOL_NAME_SEPARATOR = '__';
/** Longest prefix (the server's name) kept in a tool name, so the tool's own name has room. */
const MAX_PREFIX_LENGTH = 24;

/** `text` in the tool-name charset: any other character becomes `_`; empty becomes `mcp`. */
export function toolNameSafe(text: string, maxLength: number = MAX_TOOL_NAME_LENGTH): string {
  let out = '';
  // A loop, not a regular expression: a hostile server's names are of any length.
  for (const char of text.slice(0, maxLength)) {
    out += /[a-zA-Z0-9_-]/.test(char) ? char : '_';
  }
  return out === '' ? 'mcp' : out.slice(0, maxLength);
}

/** Eight hex characters that tell `seed` apart from other names cut to the same prefix. */
function shortHash(seed: string): string {
  return createHash('sha256').update(seed).digest('hex').slice(0, 8);
}

/** The prefix for a server named `name` (its configured name, or what it calls itself). */
export function mcpPrefix(name: string): string {
  return toolNameSafe(name, MAX_PREFIX_LENGTH);
}

/**
 * The model's name for tool `tool` of the server with prefix `prefix`: `prefix__tool` when that
 * fits in 64 characters and is not `taken`; otherwise cut, with a hash of the full pair appended,
 * so two long names that share their start still differ (and the same pair always gets the same
 * name, in every process).
 */
export function mcpToolName(prefix: string, tool: string, taken: (name: string) => boolean): string {
  const plain = `${prefix}${MCP_TOOL_NAME_SEPARATOR}${toolNameSafe(tool, 256)}`;
  if (plain.length <= MAX_TOOL_NAME_LENGTH && plain === `${prefix}${MCP_TOOL_NAME_SEPARATOR}${tool}` && !taken(plain))
    return plain;
  const hash = shortHash(`${prefix}\u0000${tool}`);
  return `${plain.slice(0, MAX_TOOL_NAME_LENGTH - hash.length - 1)}_${hash}`;
}
