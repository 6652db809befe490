/**
 * What the model sees of an MCP tool's result. MCP results are content blocks (text, image,
 * audio, resource links, embedded resources) and, from tools with an output schema, structured
 * content; the model's tool messages take text, so binary blocks are described, not inlined.
 * A hostile or broken server's result (too large, nested too deep, of the wrong shape) becomes a
 * tool error with a stable prefix, never an exception out of the reply.
 */
import { ToolError } from '../../errors';

/** Largest MCP tool result taken, as JSON, in UTF-8 bytes (1 MiB); a larger one is a tool error. */
export const DEFAULT_MAX_MCP_RESULT_BYTES = 1024 * 1024;
/** Deepest nesting of arrays and objects taken in an MCP tool result; deeper is a tool error. */
export const MAX_MCP_RESULT_DEPTH = 64;
/** Longest error text kept of a result with `isError`, in characters. */
const MAX_ERROR_TEXT_LENGTH = 1000;

type Json = unknown;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Whether `value` nests arrays and objects deeper than `max`: iterative, so a hostile depth
 * cannot overflow the stack (JSON.stringify of it would throw a RangeError).
 */
export function nestedDeeperThan(value: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]];
  let seen = 0;
  while (stack.length > 0) {
    const [item, depth] = stack.pop() as [unknown, number];
    if (typeof item !== 'object' || item === null) continue;
    if (depth >= max) return true;
    // A result is a tree parsed from JSON; the count only bounds the walk of a shared object graph.
    if (++seen > 1_000_000) return true;
    for (const child of Array.isArray(item) ? item : Object.values(item)) stack.push([child, depth + 1]);
  }
  return false;
}

/** UTF-8 length of `text`. */
const bytesOf = (text: string): number => Buffer.byteLength(text, 'utf8');

/** How many bytes base64 `data` stands for. */
const decodedBytes = (data: string): number => {
  const padding = data.endsWith('==') ? 2 : data.endsWith('=') ? 1 : 0;
  return Math.max(0, Math.floor((data.length * 3) / 4) - padding);
};

/** One content block as the model sees it: text as is, others as a short description. */
function blockForModel(block: unknown): Json {
  if (!isRecord(block)) return { type: 'unknown' };
  switch (block.type) {
    case 'text':
      return { type: 'text', text: typeof block.text === 'string' ? block.text : '' };
    case 'image':
    case 'audio':
      return {
        type: block.type,
        mediaType: typeof block.mimeType === 'string' ? block.mimeType : 'application/octet-stream',
        bytes: typeof block.data === 'string' ? decodedBytes(block.data) : 0,
      };
    case 'resource_link':
      return { type: 'resource_link', uri: block.uri, name: block.name, mediaType: block.mimeType };
    case 'resource': {
      const resource = isRecord(block.resource) ? block.resource : {};
      return typeof resource.text === 'string'
        ? { type: 'resource', uri: resource.uri, mediaType: resource.mimeType, text: resource.text }
        : {
            type: 'resource',
            uri: resource.uri,
            mediaType: resource.mimeType,
            bytes: typeof resource.blob === 'string' ? decodedBytes(resource.blob) : 0,
          };
    }
    default:
      return { type: typeof block.type === 'string' ? block.type.slice(0, 40) : 'unknown' };
  }
}

/** The text of an error result's text blocks, cut to a readable length. */
function errorText(content: readonly unknown[]): string {
  const text = content
    .flatMap((block) =>
      isRecord(block) && block.type === 'text' && typeof block.text === 'string' ? [block.text] : [],
    )
    .join('\n');
  if (text === '') return 'the tool reported an error';
  return text.length > MAX_ERROR_TEXT_LENGTH ? `${text.slice(0, MAX_ERROR_TEXT_LENGTH - 3)}...` : text;
}

/**
 * The tool result the model sees for an MCP `tools/call` result: the structured content when the
 * tool gave one; else the text when every block is text; else the blocks, binary ones described
 * by media type and size. Throws a {@link ToolError} (`tool_error`) for a result with `isError`,
 * one that is not an MCP result, one nested deeper than {@link MAX_MCP_RESULT_DEPTH}, or one
 * larger than `maxBytes` as JSON.
 */
export function mcpResultForModel(
  serverName: string,
  toolName: string,
  result: unknown,
  maxBytes: number = DEFAULT_MAX_MCP_RESULT_BYTES,
): Json {
  const where = `MCP server ${serverName}, tool ${toolName}`;
  if (!isRecord(result)) throw new ToolError('tool_error', `mcp_bad_result: ${where} answered with no result object`);
  if (nestedDeeperThan(result, MAX_MCP_RESULT_DEPTH))
    throw new ToolError(
      'tool_error',
      `mcp_bad_result: ${where} answered with JSON nested deeper than ${MAX_MCP_RESULT_DEPTH}`,
    );
  let size: number;
  try {
    size = bytesOf(JSON.stringify(result));
  } catch {
    throw new ToolError('tool_error', `mcp_bad_result: ${where} answered with a result that is not JSON`);
  }
  if (size > maxBytes)
    throw new ToolError(
      'tool_error',
      `mcp_result_too_large: ${where} answered with ${size} bytes; the limit is ${maxBytes}`,
    );
  const content = result.content === undefined ? [] : result.content;
  if (!Array.isArray(content))
    throw new ToolError('tool_error', `mcp_bad_result: ${where} answered with content that is not a list`);
  if (result.isError === true) throw new ToolError('tool_error', `${where} failed: ${errorText(content)}`);
  if (isRecord(result.structuredContent)) return result.structuredContent;
  const blocks = content.map(blockForModel);
  if (blocks.every((block) => isRecord(block) && block.type === 'text'))
    return blocks.map((block) => (block as { text: string }).text).join('\n');
  return blocks;
}
