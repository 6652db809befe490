import { LLMWSError } from '../errors';
import { builtinTools } from '../tools/builtin';
import { createToolRegistry } from '../tools/registry';
import type { ToolRegistry } from '../tools/types';
import type { Tool } from '../tools/types';
import type { WSServerOptions } from './options';

/**
 * The tools a server's replies may call: the built-in ones (unless `builtinTools: false`) and
 * `tools`, those named in `requireApproval` needing approval, each run within `toolTimeoutMs`.
 */
export function serverTools(
  options: Pick<WSServerOptions, 'builtinTools' | 'tools' | 'requireApproval' | 'toolTimeoutMs'>,
): ToolRegistry {
  const tools = [...(options.builtinTools === false ? [] : builtinTools), ...(options.tools ?? [])];
  return createToolRegistry(withApproval(tools, options.requireApproval), { timeoutMs: options.toolTimeoutMs });
}

/** The tools, those named in `requireApproval` needing approval; a name no tool has is a mistake to refuse. */
function withApproval(tools: readonly Tool[], requireApproval: readonly string[] = []): Tool[] {
  const unknown = requireApproval.filter((name) => !tools.some((tool) => tool.name === name));
  if (unknown.length > 0) {
    throw new LLMWSError(
      'invalid_options',
      `WSServer: option \`requireApproval\` names no tool: ${unknown.join(', ')} (the tools are ${tools.map((tool) => tool.name).join(', ') || 'none'})`,
    );
  }
  return tools.map((tool) => (requireApproval.includes(tool.name) ? { ...tool, needsApproval: true } : tool));
}
