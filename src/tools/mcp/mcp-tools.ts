/**
 * MCP servers as a tool source: their tools, named `<server>__<tool>`, offered beside the
 * server's own in one {@link ToolRegistry} that follows each server's tool list as it changes.
 */
import type Ajv from 'ajv';
import { defer, from, type Observable } from 'rxjs';
import { LLMWSError } from '../../errors';
import { newAjv } from '../ajv';
import { createToolRegistry, DEFAULT_TOOL_TIMEOUT_MS } from '../registry';
import type { ToolRegistry } from '../types';
import type { Tool } from '../types';
import {
  describeMcpServer,
  MAX_MCP_TOOL_DESCRIPTION_LENGTH,
  MAX_MCP_TOOL_SCHEMA_BYTES,
  mcpConfigProblem,
  type McpServerConfig,
  type McpToolsOptions,
} from './config';
import { createMcpConnection, type McpConnection, type McpToolInfo } from './connection';
import { mcpPrefix, mcpToolName } from './names';
import { loadMcpSdk } from './sdk';

/** A tool registry with MCP servers' tools in it, and the connections to start and close. */
export interface McpToolRegistry extends ToolRegistry {
  /**
   * Connects to every MCP server; resolves once each is connected or has failed its first attempt
   * (it then keeps trying in the background, and its tools appear once it answers). Rejects with
   * `mcp_sdk_missing` when `@modelcontextprotocol/sdk` is not installed.
   */
  start(): Promise<void>;
  /** Closes every connection (stdio servers' processes end) and stops reconnecting. */
  close(): Promise<void>;
  /** Each server's name (once known) and state, for logs and health. */
  servers(): Array<{ name: string; state: McpConnection['state']; tools: number }>;
}

/** Whether the MCP tool needs the user's approval by `config`, else by its annotations. */
function needsApprovalOf(config: McpServerConfig, tool: McpToolInfo): boolean {
  const rule = config.requireApproval;
  if (rule === true || rule === false) return rule;
  if (Array.isArray(rule)) return rule.includes(tool.name);
  return tool.annotations?.destructiveHint === true;
}

/** Why llm-ws leaves the tool out, or undefined when it takes it. */
function schemaProblem(ajv: Ajv, tool: McpToolInfo): string | undefined {
  let text: string;
  try {
    text = JSON.stringify(tool.inputSchema);
  } catch {
    return 'its input schema is not JSON';
  }
  if (Buffer.byteLength(text, 'utf8') > MAX_MCP_TOOL_SCHEMA_BYTES)
    return `its input schema is larger than ${MAX_MCP_TOOL_SCHEMA_BYTES} bytes`;
  try {
    ajv.compile(tool.inputSchema);
    return undefined;
  } catch (error) {
    return `its input schema does not compile: ${(error as Error).message.slice(0, 200)}`;
  }
}

/**
 * `base` (the server's own tools) and the tools of `servers`, as one registry. MCP tools are
 * named `<server>__<tool>` (see {@link mcpToolName}); a name `base` has is never reused. Calls
 * of an MCP tool go to its server with the call's AbortSignal and run within `timeoutMs`.
 * Throws `invalid_options` for a config that could never connect.
 */
export function createMcpToolRegistry(
  base: ToolRegistry,
  servers: readonly McpServerConfig[],
  options: McpToolsOptions & { readonly timeoutMs?: number } = {},
): McpToolRegistry {
  servers.forEach((config, i) => {
    const problem = mcpConfigProblem(config);
    if (problem)
      throw new LLMWSError('invalid_options', `MCP server ${i + 1} (${describeMcpServer(config)}): ${problem}`);
  });
  const timeoutMs = options.timeoutMs ?? DEFAULT_TOOL_TIMEOUT_MS;
  const ajv = newAjv({ allErrors: false, strict: false });
  const log = options.logger;
  let mcp: ToolRegistry = createToolRegistry([]);
  const rebuild = (): void => {
    const tools: Tool[] = [];
    const names = new Set(base.names);
    const prefixes = new Set<string>();
    connections.forEach((connection, index) => {
      if (connection.serverName === undefined) return;
      let prefix = mcpPrefix(connection.serverName);
      // Two servers of one name: the later in the list gets its position appended.
      if (prefixes.has(prefix)) prefix = mcpPrefix(`${prefix}_${index + 1}`);
      prefixes.add(prefix);
      for (const info of connection.tools) {
        const problem = schemaProblem(ajv, info);
        if (problem) {
          log?.warn(
            { mcpServer: connection.serverName, tool: info.name },
            `MCP tool ${info.name} left out: ${problem}`,
          );
          continue;
        }
        const name = mcpToolName(prefix, info.name, (candidate) => names.has(candidate));
        names.add(name);
        const description = typeof info.description === 'string' ? info.description : '';
        tools.push({
          name,
          description:
            description.length > MAX_MCP_TOOL_DESCRIPTION_LENGTH
              ? `${description.slice(0, MAX_MCP_TOOL_DESCRIPTION_LENGTH - 3)}...`
              : description,
          parameters: info.inputSchema,
          needsApproval: needsApprovalOf(connection.config, info),
          execute: (args: unknown, context): Observable<unknown> =>
            defer(() => from(connection.call(info.name, args, context.signal))),
        });
      }
    });
    mcp = createToolRegistry(tools, { timeoutMs });
  };
  const connections = servers.map((config) =>
    createMcpConnection(config, { ...options, callTimeoutMs: timeoutMs }, rebuild),
  );

  const owner = (name: string): ToolRegistry => (base.has(name) ? base : mcp);
  return {
    get names() {
      return [...base.names, ...mcp.names];
    },
    has: (name) => base.has(name) || mcp.has(name),
    definitions: (names) => [...base.definitions(names), ...mcp.definitions(names)],
    execute: (call, context) => defer(() => owner(call.name).execute(call, context)),
    needsApproval: (call, context) => defer(() => owner(call.name).needsApproval(call, context)),
    async start() {
      // A missing SDK is the installer's mistake, not a server that may come back: say so at once.
      await loadMcpSdk();
      await Promise.all(connections.map((connection) => connection.start()));
    },
    async close() {
      await Promise.all(connections.map((connection) => connection.close()));
    },
    servers: () =>
      connections.map((connection) => ({
        name: connection.serverName ?? describeMcpServer(connection.config),
        state: connection.state,
        tools: connection.tools.length,
      })),
  };
}
