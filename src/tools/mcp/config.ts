/** How llm-ws reaches an MCP server and what it makes of that server's tools. */

/** The least the MCP tool source logs with: the server's `Logger` (pino, console) fits. */
export interface McpLogger {
  warn(fields: object, message?: string): void;
  info(fields: object, message?: string): void;
}

/** First wait before reconnecting to an MCP server that went away, in ms; it doubles up to {@link DEFAULT_MCP_MAX_RECONNECT_DELAY_MS}. */
export const DEFAULT_MCP_RECONNECT_DELAY_MS = 500;
/** Longest wait between reconnect attempts, in ms. */
export const DEFAULT_MCP_MAX_RECONNECT_DELAY_MS = 30_000;
/** How long connecting (the MCP handshake and the first tool list) may take, in ms. */
export const DEFAULT_MCP_CONNECT_TIMEOUT_MS = 10_000;
/** How long a liveness ping (sent after a call failed or was cancelled) may take before the connection counts as dead, in ms. */
export const DEFAULT_MCP_PING_TIMEOUT_MS = 5_000;
/** Most tools taken from one MCP server; the rest are left out with a warning. */
export const DEFAULT_MCP_MAX_TOOLS = 128;
/** Largest JSON Schema of one MCP tool's arguments taken, in UTF-8 bytes; a tool with a larger one is left out. */
export const MAX_MCP_TOOL_SCHEMA_BYTES = 64 * 1024;
/** Longest tool description passed on to the model, in characters. */
export const MAX_MCP_TOOL_DESCRIPTION_LENGTH = 2048;
/** Largest single message read from an MCP server, in bytes (16 MiB): a larger one drops the connection. */
export const DEFAULT_MCP_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

/**
 * One MCP server whose tools the model may call: either `command` (stdio: llm-ws starts the
 * process and speaks MCP on its stdin and stdout) or `url` (Streamable HTTP).
 *
 * Each tool is offered as `<name>__<tool>` (see docs/guide/node.md, "MCP tools"); each call is sent with the
 * reply's cancellation, so an abort reaches the MCP server as `notifications/cancelled`.
 */
export interface McpServerConfig {
  /**
   * Prefix of its tools' names: letters, digits, `_` and `-` (others become `_`), cut to 24.
   * @default the name the server gives itself in the MCP handshake (`serverInfo.name`)
   */
  readonly name?: string;
  /** stdio: the program to run. Not with `url`. */
  readonly command?: string;
  /** stdio: its arguments. @default [] */
  readonly args?: readonly string[];
  /** stdio: its environment. @default the MCP SDK's safe subset of this process's (PATH, HOME, ...) */
  readonly env?: Readonly<Record<string, string>>;
  /** stdio: its working directory. @default this process's */
  readonly cwd?: string;
  /** Streamable HTTP: the server's endpoint (`http:` or `https:`). Not with `command`. */
  readonly url?: string;
  /** Streamable HTTP: headers sent with every request (`Authorization: Bearer ...`). @default {} */
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * Which of its tools wait for the user's approval before they run (as `needsApproval: true`):
   * `true` all, `false` none, or the MCP names of some (without the prefix). Unset, a tool needs
   * approval when its annotations say `destructiveHint: true` (annotations are the server's
   * hints: set this for a server you do not trust). @default annotations decide
   */
  readonly requireApproval?: boolean | readonly string[];
  /** Largest tool result taken, as JSON, in UTF-8 bytes; a larger one is a tool error. @default DEFAULT_MAX_MCP_RESULT_BYTES */
  readonly maxResultBytes?: number;
  /** Most tools taken from this server. @default DEFAULT_MCP_MAX_TOOLS */
  readonly maxTools?: number;
}

/** Settings shared by all MCP servers of a tool source. */
export interface McpToolsOptions {
  /** Where connects, disconnects and left-out tools are logged. @default nothing is logged */
  readonly logger?: McpLogger;
  /** How long one tool call may run, in ms (the registry's timeout also bounds it). @default DEFAULT_TOOL_TIMEOUT_MS */
  readonly callTimeoutMs?: number;
  /** @default DEFAULT_MCP_CONNECT_TIMEOUT_MS */
  readonly connectTimeoutMs?: number;
  /** @default DEFAULT_MCP_PING_TIMEOUT_MS */
  readonly pingTimeoutMs?: number;
  /** @default DEFAULT_MCP_RECONNECT_DELAY_MS */
  readonly reconnectDelayMs?: number;
  /** @default DEFAULT_MCP_MAX_RECONNECT_DELAY_MS */
  readonly maxReconnectDelayMs?: number;
  /** Largest single message read from a server, in bytes. @default DEFAULT_MCP_MAX_MESSAGE_BYTES */
  readonly maxMessageBytes?: number;
}

/** A description of `config` for logs and errors: its name, command or URL (never its headers). */
export function describeMcpServer(config: McpServerConfig): string {
  if (config.name) return config.name;
  if (config.url) {
    try {
      const url = new URL(config.url);
      return `${url.origin}${url.pathname}`;
    } catch {
      return 'an MCP server with a bad url';
    }
  }
  return [config.command ?? '', ...(config.args ?? [])].join(' ').slice(0, 80);
}

/** What is wrong with `config`, or undefined. */
export function mcpConfigProblem(config: McpServerConfig): string | undefined {
  if (typeof config !== 'object' || config === null) return 'must be an object';
  if ((config.command === undefined) === (config.url === undefined)) return 'needs either command or url (not both)';
  if (config.command !== undefined && (typeof config.command !== 'string' || config.command.trim() === ''))
    return 'command must be a non-empty string';
  if (config.url !== undefined) {
    let url: URL;
    try {
      url = new URL(config.url);
    } catch {
      return `url ${JSON.stringify(config.url)} is not a URL`;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'url must be http: or https:';
  }
  if (config.args !== undefined && (!Array.isArray(config.args) || config.args.some((a) => typeof a !== 'string')))
    return 'args must be a list of strings';
  if (config.name !== undefined && (typeof config.name !== 'string' || config.name === ''))
    return 'name must be a non-empty string';
  const approval = config.requireApproval;
  if (
    approval !== undefined &&
    typeof approval !== 'boolean' &&
    (!Array.isArray(approval) || approval.some((a) => typeof a !== 'string'))
  )
    return 'requireApproval must be true, false or a list of tool names';
  for (const key of ['maxResultBytes', 'maxTools'] as const) {
    const value = config[key];
    if (value !== undefined && (!Number.isSafeInteger(value) || value < 1))
      return `${key} must be a whole number of 1 or more`;
  }
  return undefined;
}
