/**
 * One MCP server, kept connected: connects (stdio or Streamable HTTP), lists its tools and
 * follows `notifications/tools/list_changed`, calls tools with the caller's AbortSignal, and
 * when the server dies (its process exits, a message is too large, a ping after a failed call
 * goes unanswered) reconnects with backoff. While it is away its tools fail with a tool error.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ToolError } from '../../errors';
import {
  DEFAULT_MCP_CONNECT_TIMEOUT_MS,
  DEFAULT_MCP_MAX_MESSAGE_BYTES,
  DEFAULT_MCP_MAX_RECONNECT_DELAY_MS,
  DEFAULT_MCP_MAX_TOOLS,
  DEFAULT_MCP_PING_TIMEOUT_MS,
  DEFAULT_MCP_RECONNECT_DELAY_MS,
  describeMcpServer,
  type McpServerConfig,
  type McpToolsOptions,
} from './config';
import { limitedFetch } from './limited-fetch';
import { DEFAULT_MAX_MCP_RESULT_BYTES, mcpResultForModel } from './result';
import { loadMcpSdk } from './sdk';

/** A tool as the MCP server listed it (the fields llm-ws reads). */
export interface McpToolInfo {
  readonly name: string;
  readonly description?: string;
  readonly inputSchema: Record<string, unknown>;
  readonly annotations?: { readonly destructiveHint?: boolean; readonly readOnlyHint?: boolean };
}

/** Where a connection is. */
export type McpConnectionState = 'connecting' | 'connected' | 'disconnected' | 'closed';

/** One MCP server, kept connected. */
export interface McpConnection {
  readonly config: McpServerConfig;
  readonly state: McpConnectionState;
  /** The prefix of its tools' names: the configured name, else the server's own once known. */
  readonly serverName: string | undefined;
  /** Its tools as last listed (kept while it is away, so calls fail with a tool error rather than vanish). */
  readonly tools: readonly McpToolInfo[];
  /** Connects (the first time), resolving once connected or once the first attempt failed. */
  start(): Promise<void>;
  /** Calls a tool; rejects with a {@link ToolError}. Aborting `signal` cancels the call on the server. */
  call(name: string, args: unknown, signal: AbortSignal): Promise<unknown>;
  close(): Promise<void>;
}

const VERSION = '0.1.0';

/** Creates the connection; `onTools` hears each new tool list (after connecting, and on list_changed). */
export function createMcpConnection(
  config: McpServerConfig,
  options: McpToolsOptions,
  onTools: () => void,
): McpConnection {
  const label = describeMcpServer(config);
  const log = options.logger;
  const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_MCP_CONNECT_TIMEOUT_MS;
  const pingTimeoutMs = options.pingTimeoutMs ?? DEFAULT_MCP_PING_TIMEOUT_MS;
  const firstDelayMs = options.reconnectDelayMs ?? DEFAULT_MCP_RECONNECT_DELAY_MS;
  const maxDelayMs = options.maxReconnectDelayMs ?? DEFAULT_MCP_MAX_RECONNECT_DELAY_MS;
  const maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MCP_MAX_MESSAGE_BYTES;
  const maxTools = config.maxTools ?? DEFAULT_MCP_MAX_TOOLS;
  const maxResultBytes = config.maxResultBytes ?? DEFAULT_MAX_MCP_RESULT_BYTES;
  // The SDK's own request timeout, past ours (the registry's timeout aborts first and says why).
  const requestTimeoutMs = (options.callTimeoutMs ?? 30_000) + 1000;

  let state: McpConnectionState = 'disconnected';
  let client: Client | undefined;
  let serverName = config.name;
  let tools: readonly McpToolInfo[] = [];
  let delayMs = firstDelayMs;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let probing = false;
  let lastError = '';

  const setTools = (listed: readonly unknown[]): void => {
    const taken = listed.slice(0, maxTools) as McpToolInfo[];
    if (listed.length > maxTools)
      log?.warn(
        { mcpServer: label, tools: listed.length, maxTools },
        `MCP server ${label}: only the first ${maxTools} tools are offered`,
      );
    tools = taken;
    onTools();
  };

  async function listAll(current: Client): Promise<unknown[]> {
    const all: unknown[] = [];
    let cursor: string | undefined;
    // Pages until the server stops, or until past what is taken anyway (a server that pages forever).
    do {
      const page = await current.listTools(cursor === undefined ? {} : { cursor }, { timeout: connectTimeoutMs });
      all.push(...page.tools);
      cursor = page.nextCursor;
    } while (cursor !== undefined && all.length <= maxTools);
    return all;
  }

  /**
   * Lists the tools again once the standalone event stream of a Streamable HTTP server is open:
   * the client opens it after the handshake without waiting, and a server drops the
   * `list_changed` it sends while no such stream is open (before it opened, or between a drop
   * and its reconnect), so a change made then would otherwise never be seen.
   */
  function relistWhenStreamOpens(attempt: { client?: Client; opened: boolean }): () => void {
    return () => {
      const current = attempt.client;
      if (!current || client !== current) {
        // Still connecting: connect() lists again once it is done.
        attempt.opened = true;
        return;
      }
      listAll(current).then(
        (listed) => {
          if (client === current) setTools(listed);
        },
        (error: unknown) =>
          log?.warn({ mcpServer: label, err: error }, `MCP server ${label}: refreshing its tools failed`),
      );
    };
  }

  function makeTransport(
    sdk: Awaited<ReturnType<typeof loadMcpSdk>>,
    attempt: { client?: Client; opened: boolean },
  ): Transport {
    if (config.url !== undefined) {
      return new sdk.StreamableHTTPClientTransport(new URL(config.url), {
        requestInit: { headers: { ...(config.headers ?? {}) } },
        fetch: limitedFetch(maxMessageBytes, relistWhenStreamOpens(attempt)),
      });
    }
    return new sdk.StdioClientTransport({
      command: config.command as string,
      args: [...(config.args ?? [])],
      ...(config.env ? { env: { ...config.env } } : {}),
      ...(config.cwd ? { cwd: config.cwd } : {}),
      maxBufferSize: maxMessageBytes,
    });
  }

  const scheduleReconnect = (): void => {
    if (state === 'closed' || timer) return;
    state = 'disconnected';
    const wait = delayMs;
    delayMs = Math.min(delayMs * 2, maxDelayMs);
    timer = setTimeout(() => {
      timer = undefined;
      void connect();
    }, wait);
  };

  async function connect(): Promise<void> {
    if (state === 'closed') return;
    state = 'connecting';
    let next: Client | undefined;
    try {
      const sdk = await loadMcpSdk();
      next = new sdk.Client(
        { name: 'llm-ws', version: VERSION },
        {
          listChanged: {
            tools: {
              onChanged: (error, listed) => {
                if (client !== next) return;
                if (error)
                  log?.warn({ mcpServer: label, err: error }, `MCP server ${label}: refreshing its tools failed`);
                else if (listed) setTools(listed);
              },
            },
          },
        },
      );
      const mine = next;
      const attempt: { client?: Client; opened: boolean } = { opened: false };
      const transport = makeTransport(sdk, attempt);
      next.onclose = () => {
        if (client !== mine || state === 'closed') return;
        client = undefined;
        log?.warn({ mcpServer: label }, `MCP server ${label} went away; reconnecting`);
        scheduleReconnect();
      };
      next.onerror = (error) => {
        lastError = error.message;
      };
      await next.connect(transport, { timeout: connectTimeoutMs });
      const listed = await listAll(next);
      // close() may have run while this awaited.
      if ((state as McpConnectionState) === 'closed') {
        await next.close();
        return;
      }
      serverName = config.name ?? next.getServerVersion()?.name ?? label;
      client = next;
      state = 'connected';
      delayMs = firstDelayMs;
      log?.info(
        { mcpServer: serverName, tools: Math.min(listed.length, maxTools) },
        `MCP server ${serverName} connected (${label})`,
      );
      setTools(listed);
      attempt.client = next;
      // The event stream opened while this listed: list again, in case a change fell in between.
      if (attempt.opened) relistWhenStreamOpens(attempt)();
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
      log?.warn({ mcpServer: label, err: error }, `MCP server ${label}: could not connect (${lastError}); retrying`);
      await next?.close().catch(() => undefined);
      scheduleReconnect();
    }
  }

  /** After a failed or cancelled call: a server that does not answer a ping is dropped and reconnected. */
  function probe(current: Client): void {
    if (probing || client !== current) return;
    probing = true;
    current
      .ping({ timeout: pingTimeoutMs })
      .catch(() => {
        if (client !== current) return;
        log?.warn({ mcpServer: label }, `MCP server ${label} does not answer; reconnecting`);
        client = undefined;
        scheduleReconnect();
        return current.close();
      })
      .catch(() => undefined)
      .finally(() => {
        probing = false;
      });
  }

  return {
    config,
    get state() {
      return state;
    },
    get serverName() {
      return serverName;
    },
    get tools() {
      return tools;
    },
    start() {
      // Started again after close(): a fresh round of attempts.
      if (state === 'closed') state = 'disconnected';
      delayMs = firstDelayMs;
      return connect();
    },
    async call(name, args, signal) {
      const current = client;
      if (!current || state !== 'connected') {
        const why = lastError ? ` (${lastError.slice(0, 200)})` : '';
        throw new ToolError(
          'tool_error',
          `mcp_unavailable: MCP server ${serverName ?? label} is not connected${why}; try again later`,
        );
      }
      let result: unknown;
      try {
        result = await current.callTool({ name, arguments: (args ?? {}) as Record<string, unknown> }, undefined, {
          signal,
          timeout: requestTimeoutMs,
        });
      } catch (error) {
        probe(current);
        if (signal.aborted) throw new ToolError('tool_error', `the call to ${name} was cancelled`);
        const message = error instanceof Error ? error.message : String(error);
        throw new ToolError(
          'tool_error',
          `mcp_call_failed: MCP server ${serverName ?? label}, tool ${name}: ${message.slice(0, 500)}`,
        );
      }
      return mcpResultForModel(serverName ?? label, name, result, maxResultBytes);
    },
    async close() {
      state = 'closed';
      if (timer) clearTimeout(timer);
      timer = undefined;
      const current = client;
      client = undefined;
      await current?.close().catch(() => undefined);
    },
  };
}
