/**
 * `@modelcontextprotocol/sdk` is an optional peer dependency: loaded on first use, so servers
 * without MCP servers never need it installed.
 */
import { LLMWSError } from '../../errors';

type Sdk = {
  Client: typeof import('@modelcontextprotocol/sdk/client/index.js').Client;
  StdioClientTransport: typeof import('@modelcontextprotocol/sdk/client/stdio.js').StdioClientTransport;
  StreamableHTTPClientTransport: typeof import('@modelcontextprotocol/sdk/client/streamableHttp.js').StreamableHTTPClientTransport;
};

let loading: Promise<Sdk> | undefined;

/** The SDK's client classes; rejects with `mcp_sdk_missing` when the package is not installed. */
export function loadMcpSdk(): Promise<Sdk> {
  loading ??= Promise.all([
    import('@modelcontextprotocol/sdk/client/index.js'),
    import('@modelcontextprotocol/sdk/client/stdio.js'),
    import('@modelcontextprotocol/sdk/client/streamableHttp.js'),
  ]).then(
    ([client, stdio, http]) => ({
      Client: client.Client,
      StdioClientTransport: stdio.StdioClientTransport,
      StreamableHTTPClientTransport: http.StreamableHTTPClientTransport,
    }),
    (error: unknown) => {
      loading = undefined;
      throw new LLMWSError(
        'mcp_sdk_missing',
        'MCP servers need the package @modelcontextprotocol/sdk: npm install @modelcontextprotocol/sdk',
        { cause: error },
      );
    },
  );
  return loading;
}
