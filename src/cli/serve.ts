import { type OtlpExport, otlpRequested, startOtlpExport } from './otlp';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { providerFromEnvironment } from '../llm/from-environment';
import { DEFAULT_MAX_HISTORY_LENGTH, DEFAULT_SYSTEM_PROMPT } from '../core/conversation';
import { type Authenticate, bearerTokenAuthentication } from '../server/auth';
import { type AuthTokenEntry, readAuthTokensFile, tokensAuthentication } from './auth-tokens';
import { consoleLogger, DEFAULT_LOG_LEVEL, type LogLevel } from '../server/logger';
import {
  DEFAULT_HOSTNAME,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_SESSIONS,
  DEFAULT_AG_UI_PATH,
  DEFAULT_AI_SDK_PATH,
  DEFAULT_PATH,
  DEFAULT_PORT,
  DEFAULT_SESSION_MEMORY_BUDGET_BYTES,
  DEFAULT_SESSION_TTL_MS,
} from '../server/options';
import { DEFAULT_MAX_REPLY_TEXT_BYTES, DEFAULT_MAX_TOOL_ARGUMENTS_BYTES } from '../core/reply';
import { WSServer } from '../server/ws-server';
import { bunRuntime } from '../server/bun-transport';
import { DEFAULT_MAX_CONNECTIONS_PER_SESSION } from '../core/connection';
import { DEFAULT_CONCURRENT_MESSAGES, DEFAULT_MAX_QUEUED_MESSAGES } from '../core/waiting-messages';
import type { ConcurrentMessages } from '../protocol/codecs';
import { DEFAULT_APPROVAL_TIMEOUT_MS } from '../tools/client-answers';
import type { CompressionOptions } from '../server/compression';
import { DEFAULT_REDIS_COMMAND_TIMEOUT_MS, DEFAULT_REDIS_LEASE_MS, DEFAULT_REDIS_PREFIX } from '../store/redis';
import {
  DEFAULT_DATA_DIR,
  type FlagSource,
  localStore,
  type LocalStoreFlags,
  nodeList,
  postgresUrl,
  type RedisFlags,
  redisUrl,
  storeFromFlags,
} from './serve-store';
import { mcpServersFromFlags, type McpFlags } from './serve-mcp';
import { limitsDescription, messageRateFlag, tokenBudgetFlag } from './serve-limits';
import type { MessageRate, TokenBudget } from '../core/usage-limits';

/** Parses a whole number of at least `min` for commander, with an error naming what was wrong. */
export function wholeNumber(min: number): (value: string) => number {
  return (value) => {
    const parsed = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(parsed) || parsed < min) {
      throw new InvalidArgumentError(`expected a whole number of ${min} or more, got "${value}"`);
    }
    return parsed;
  };
}

interface ServeOptions extends RedisFlags, LocalStoreFlags, McpFlags {
  port: number;
  host: string;
  path: string;
  aiSdkPath: string;
  aiSdk: boolean;
  agUiPath: string;
  agUi: boolean;
  model?: string;
  systemPrompt: string;
  maxConnections: number;
  maxConnectionsPerSession: number;
  maxHistory: number;
  concurrentMessages: ConcurrentMessages;
  maxQueuedMessages: number;
  authToken?: string;
  authTokensFile?: string;
  allowedOrigins?: string[];
  sessionTtl: number;
  maxSessions: number;
  sessionMemoryBudgetBytes: number;
  maxReplyTextBytes: number;
  maxToolArgumentsBytes: number;
  builtinTools: boolean;
  requireApproval?: string[];
  approvalTimeout: number;
  keepReasoning: boolean;
  metricsAuth: boolean;
  logLevel: LogLevel;
  processMetrics: boolean;
  compression: boolean;
  compressionThresholdBytes?: number;
  compressionContextTakeover: boolean;
  tokenBudget?: TokenBudget;
  messageRate?: MessageRate;
}

/** Collects a repeatable flag's values for commander. */
function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Splits a comma-separated list for commander. */
function list(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}

/** `enableCompression` from the flags: any compression flag turns it on. */
function compressionOf(options: ServeOptions): boolean | CompressionOptions {
  const { compression, compressionThresholdBytes, compressionContextTakeover } = options;
  if (!compression && compressionThresholdBytes === undefined && !compressionContextTakeover) return false;
  return {
    ...(compressionThresholdBytes !== undefined ? { thresholdBytes: compressionThresholdBytes } : {}),
    contextTakeover: compressionContextTakeover,
  };
}

/**
 * Who may connect, from `--auth-token` and `--auth-tokens-file`: with the file, each of its tokens
 * gives its own principal (`{ kind: 'token', user }`) and `--auth-token` one more (`{ kind: 'token' }`).
 * Throws for a file that cannot be read or used.
 */
function authenticationOf(options: ServeOptions): Authenticate | undefined {
  if (!options.authTokensFile) return options.authToken ? bearerTokenAuthentication(options.authToken) : undefined;
  const entries: AuthTokenEntry[] = readAuthTokensFile(options.authTokensFile);
  if (options.authToken) {
    if (entries.some((entry) => entry.token === options.authToken))
      throw new Error(`${options.authTokensFile} gives the --auth-token a principal of its own: give it once`);
    entries.push({ token: options.authToken, principal: { kind: 'token' } });
  }
  return tokensAuthentication(entries);
}

/** The built demo page: beside the built CLI (dist/cli → dist/demo), or in dist/ when run from the sources. */
function findDemoDir(): string | undefined {
  const candidates = [join(__dirname, '..', 'demo'), join(__dirname, '..', '..', 'dist', 'demo')];
  return candidates.find((dir) => existsSync(join(dir, 'llm-ws-client.js')));
}

async function serve(options: ServeOptions, source: FlagSource): Promise<void> {
  let shared: ReturnType<typeof storeFromFlags>;
  try {
    shared = storeFromFlags(options, source);
  } catch (error) {
    console.error(`llm-ws: ${(error as Error).message}`);
    process.exit(2);
  }
  let mcpServers: ReturnType<typeof mcpServersFromFlags>;
  try {
    mcpServers = mcpServersFromFlags(options);
  } catch (error) {
    console.error(`llm-ws: ${(error as Error).message}`);
    process.exit(2);
  }
  let authenticate: Authenticate | undefined;
  try {
    authenticate = authenticationOf(options);
  } catch (error) {
    console.error(`llm-ws: ${(error as Error).message}`);
    process.exit(2);
  }
  const llm = providerFromEnvironment(process.env, { model: options.model });
  if (llm.offline) {
    console.warn('llm-ws: no OPENAI_API_KEY or OPENAI_BASE_URL set, so the OFFLINE DEMO model answers.');
    console.warn(
      'llm-ws: it only tells the time and does arithmetic; set OPENAI_API_KEY (or OPENAI_BASE_URL) for a real model.',
    );
  } else {
    console.log(`llm-ws: answering with ${llm.description}`);
  }
  let otlp: OtlpExport | undefined;
  if (otlpRequested(process.env)) {
    try {
      otlp = await startOtlpExport(process.env);
    } catch (error) {
      console.error(`llm-ws: ${(error as Error).message}`);
      process.exit(2);
    }
    console.log(`llm-ws: ${otlp.description}`);
  }
  const demoDir = findDemoDir();
  if (!demoDir) console.warn('llm-ws: the demo page is not built (npm run build), so / serves no chat page');
  // AI SDK chats are bound to sessions where the sessions are: in Redis when they are.
  const bindings = shared && (options.aiSdk || options.agUi) ? shared.bindings() : undefined;
  // Budgets are spent wherever a principal's messages land: in Redis when the sessions are.
  const limited = options.tokenBudget !== undefined || options.messageRate !== undefined;
  const quotaCounter = shared && limited ? shared.quotaCounter() : undefined;
  // Attachments' bytes where the sessions are: a conversation resumed on another process has them.
  const attachmentStore = shared?.attachments();
  const compression = compressionOf(options);
  // Under Bun, Bun.serve's native WebSockets; compression is ws's permessage-deflate, so it keeps ws.
  const transport = bunRuntime() && compression === false ? 'bun' : 'ws';
  if (bunRuntime() && transport === 'ws')
    console.log('llm-ws: compression is on, so WebSockets go through ws, not Bun.serve');
  const local = shared ? undefined : localStore(options);
  const server = new WSServer({
    transport,
    port: options.port,
    hostname: options.host,
    path: options.path,
    aiSdkPath: options.aiSdk ? options.aiSdkPath : false,
    agUiPath: options.agUi ? options.agUiPath : false,
    ...(bindings ? { conversationBindings: bindings } : {}),
    ...(attachmentStore ? { attachmentStore } : {}),
    maxConnections: options.maxConnections,
    maxConnectionsPerSession: options.maxConnectionsPerSession,
    concurrentMessages: options.concurrentMessages,
    maxQueuedMessages: options.maxQueuedMessages,
    conversationOptions: { systemPrompt: options.systemPrompt, maxHistoryLength: options.maxHistory },
    llm: llm.provider,
    upstreamHealthCheck: llm.healthCheck,
    demoDir,
    builtinTools: options.builtinTools,
    ...(mcpServers.length > 0 ? { mcpServers } : {}),
    approvalTimeoutMs: options.approvalTimeout * 1000,
    keepReasoning: options.keepReasoning,
    ...(options.requireApproval ? { requireApproval: options.requireApproval } : {}),
    logger: consoleLogger({ level: options.logLevel }),
    // A process of its own: its /metrics describes the process too.
    collectDefaultMetrics: options.processMetrics,
    sessionTtlMs: options.sessionTtl * 1000,
    maxSessions: options.maxSessions,
    sessionMemoryBudgetBytes: options.sessionMemoryBudgetBytes,
    maxReplyTextBytes: options.maxReplyTextBytes,
    maxToolArgumentsBytes: options.maxToolArgumentsBytes,
    enableCompression: compression,
    ...(authenticate ? { authenticate, metricsAuth: options.metricsAuth } : {}),
    ...(options.allowedOrigins ? { allowedOrigins: options.allowedOrigins } : {}),
    ...(shared ? { store: shared.store } : local ? { store: local.store } : {}),
    ...(otlp ? { telemetry: otlp.telemetry } : {}),
    ...(options.tokenBudget ? { tokenBudget: options.tokenBudget } : {}),
    ...(options.messageRate ? { messageRate: options.messageRate } : {}),
    ...(quotaCounter ? { quotaCounter } : {}),
  });
  const limits = limitsDescription(options, quotaCounter !== undefined);
  if (limits)
    console.log(`llm-ws: ${limits}${authenticate ? '' : ' (no auth token: all clients share one principal)'}`);
  if (shared) console.log(`llm-ws: ${shared.description}`);
  if (local) console.log(`llm-ws: ${local.description}`);
  if (options.authTokensFile) {
    console.log(
      `llm-ws: clients must present a token of ${options.authTokensFile}${options.authToken ? ' or the auth token' : ''} (Authorization: Bearer, or ?token=); each user's sessions are theirs alone`,
    );
  } else if (options.authToken) {
    console.log('llm-ws: clients must present the auth token (Authorization: Bearer, or ?token=)');
  }
  if (authenticate) {
    console.log(
      options.metricsAuth
        ? 'llm-ws: /metrics needs the token too; /health without it says only {"status":"ok"}'
        : 'llm-ws: /metrics and /health are open to anyone who can reach the port (--no-metrics-auth)',
    );
  }
  if (options.allowedOrigins)
    console.log(`llm-ws: browsers may connect from ${options.allowedOrigins.join(', ')} only`);
  // Read by Bun's allocator when the process starts, so only a hint can help here.
  if (transport === 'bun' && process.env.MIMALLOC_PURGE_DELAY === undefined)
    console.log(
      'llm-ws: on Bun, start with MIMALLOC_PURGE_DELAY=-1 for less CPU under load (its allocator then keeps freed memory; see docs/guide/node.md, Runtimes)',
    );
  await server.start();
  for (const mcp of server.mcpServers())
    console.log(
      mcp.state === 'connected'
        ? `llm-ws: MCP server ${mcp.name}: ${mcp.tools} tools`
        : `llm-ws: MCP server ${mcp.name} does not answer yet (retrying; its tools appear once it does)`,
    );
  console.log(`llm-ws: listening on ${server.url}`);
  if (options.agUi)
    console.log(
      `llm-ws: AG-UI endpoint at ${(server.url as string).replace(/^ws/, 'http').replace(/\/[^/]*$/, options.agUiPath)}`,
    );
  if (options.aiSdk)
    console.log(
      `llm-ws: AI SDK WebSocketChatTransport at ${(server.url as string).replace(/\/[^/]*$/, options.aiSdkPath)}`,
    );
  if (demoDir)
    console.log(`llm-ws: chat page at ${(server.url as string).replace(/^ws/, 'http').replace(/\/[^/]*$/, '/')}`);

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    console.log(`llm-ws: ${signal} received, closing connections`);
    server
      .stop()
      .then(() => bindings?.close())
      .then(() => quotaCounter?.close())
      .then(() => attachmentStore?.close())
      // What the exporters hold goes out before the process does.
      .then(() => otlp?.shutdown())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          console.error('llm-ws: failed to stop cleanly', error);
          process.exit(1);
        },
      );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

/** `llm-ws serve`: runs the server until SIGINT or SIGTERM. */
export function serveCommand(): Command {
  return new Command('serve')
    .description(
      "run the llm-ws WebSocket server (on Node, with ws; when run by Bun, on Bun.serve's native WebSockets unless compression is on; /health says which)",
    )
    .option(
      '-p, --port <port>',
      'TCP port (env PORT)',
      wholeNumber(0),
      process.env.PORT ? wholeNumber(0)(process.env.PORT) : DEFAULT_PORT,
    )
    .option(
      '-H, --host <host>',
      'interface to listen on; 0.0.0.0 for all (env HOST)',
      process.env.HOST ?? DEFAULT_HOSTNAME,
    )
    .option('--path <path>', 'WebSocket path', DEFAULT_PATH)
    .option(
      '--ai-sdk-path <path>',
      "path of the AI SDK endpoint (ai 7's WebSocketChatTransport, for useChat)",
      DEFAULT_AI_SDK_PATH,
    )
    .option('--no-ai-sdk', 'no AI SDK endpoint')
    .option('--ag-ui-path <path>', 'path of the AG-UI endpoint (POST a RunAgentInput, get SSE)', DEFAULT_AG_UI_PATH)
    .option('--no-ag-ui', 'no AG-UI endpoint')
    .option('-m, --model <model>', 'model name (env LLM_MODEL; default gpt-4o-mini)')
    .option('-s, --system-prompt <text>', 'system prompt of every conversation', DEFAULT_SYSTEM_PROMPT)
    .option(
      '--max-connections <n>',
      'concurrent connections; more are closed with 1013',
      wholeNumber(1),
      DEFAULT_MAX_CONNECTIONS,
    )
    .option(
      '--max-connections-per-session <n>',
      'connections (tabs) one session may have at once; a shared resume past it is closed with 4429',
      wholeNumber(1),
      DEFAULT_MAX_CONNECTIONS_PER_SESSION,
    )
    .option('--max-history <n>', 'messages kept per conversation', wholeNumber(1), DEFAULT_MAX_HISTORY_LENGTH)
    .addOption(
      new Option(
        '--concurrent-messages <mode>',
        'a message sent while a reply runs: answered after it (queue), stops it and is answered (interrupt), or refused busy (reject)',
      )
        .choices(['queue', 'interrupt', 'reject'])
        .default(DEFAULT_CONCURRENT_MESSAGES),
    )
    .option(
      '--max-queued-messages <n>',
      'with queue: messages one session holds behind its running reply; one more is refused queue_full',
      wholeNumber(1),
      DEFAULT_MAX_QUEUED_MESSAGES,
    )
    .option('--no-builtin-tools', 'offer the model no tools (by default: get_current_time and calculate)')
    .option(
      '--require-approval <tools>',
      "comma-separated tools whose calls wait for the user's yes (tool_approval) before they run",
      list,
    )
    .option(
      '--mcp <command>',
      'an MCP server to start and use over stdio, as one command line (quotes group words); its tools are offered as <server>__<tool>; repeatable',
      collect,
      [],
    )
    .option('--mcp-url <url>', 'an MCP server to use over Streamable HTTP; repeatable', collect, [])
    .option(
      '--mcp-header <header>',
      "'Name: value' sent to every --mcp-url server (e.g. 'Authorization: Bearer ...'); repeatable",
      collect,
      [],
    )
    .option(
      '--mcp-require-approval',
      "every MCP tool waits for the user's yes (by default only those the server marks destructiveHint)",
      false,
    )
    .option(
      '--approval-timeout <seconds>',
      'how long a tool call waits for approval before it counts as denied',
      wholeNumber(1),
      DEFAULT_APPROVAL_TIMEOUT_MS / 1000,
    )
    .option(
      '--keep-reasoning',
      "keep the model's reasoning in history (it is streamed as llm_reasoning either way)",
      false,
    )
    .option(
      '--auth-token <token>',
      'require this token: Authorization: Bearer <token>, or ?token=<token> (env LLM_WS_AUTH_TOKEN)',
      process.env.LLM_WS_AUTH_TOKEN || undefined,
    )
    .option(
      '--auth-tokens-file <file>',
      'require one of the tokens in this file, a "token principal" line per user (# for comments): each ' +
        "user's sessions are theirs alone (with --auth-token, that token is accepted too)",
    )
    .option(
      '--no-metrics-auth',
      'with --auth-token or --auth-tokens-file: leave /metrics and the full /health open (by default they need a token)',
    )
    .option(
      '--allowed-origins <origins>',
      'comma-separated Origins browsers may connect from; others get HTTP 403',
      list,
    )
    .option(
      '--session-ttl <seconds>',
      'how long a session waits for its client to resume it',
      wholeNumber(1),
      DEFAULT_SESSION_TTL_MS / 1000,
    )
    .option(
      '--max-sessions <n>',
      'sessions held at once; past it, detached ones are dropped (oldest first), then new connections closed with 1013',
      wholeNumber(1),
      DEFAULT_MAX_SESSIONS,
    )
    .option(
      '--session-memory-budget-bytes <bytes>',
      'bytes of history and replay all sessions may hold; past it, as for --max-sessions',
      wholeNumber(1),
      DEFAULT_SESSION_MEMORY_BUDGET_BYTES,
    )
    .option(
      '--max-reply-text-bytes <bytes>',
      'most text one reply may have; past it the reply ends with reply_too_large',
      wholeNumber(1),
      DEFAULT_MAX_REPLY_TEXT_BYTES,
    )
    .option(
      '--max-tool-arguments-bytes <bytes>',
      "most arguments one of the model's tool calls may have; past it the reply ends with reply_too_large",
      wholeNumber(1),
      DEFAULT_MAX_TOOL_ARGUMENTS_BYTES,
    )
    .option(
      '--token-budget <tokens/period>',
      'tokens each principal (each auth token user) may spend per period, e.g. 200000/1d (s, m, h, d); past it messages get quota_exceeded',
      tokenBudgetFlag,
    )
    .option(
      '--message-rate <messages/period>',
      'messages each principal may send per period, e.g. 20/1m; more get quota_exceeded',
      messageRateFlag,
    )
    .option(
      '--redis-url <url>',
      'share sessions with other llm-ws processes through this Redis (env REDIS_URL)',
      redisUrl,
      process.env.REDIS_URL || undefined,
    )
    .option(
      '--redis-cluster <nodes>',
      'share sessions through this Redis Cluster: host:port of some of its nodes, comma-separated (env REDIS_CLUSTER)',
      nodeList,
      process.env.REDIS_CLUSTER || undefined,
    )
    .option(
      '--redis-sentinel <sentinels>',
      'share sessions through the master these Redis Sentinels name: host:port, comma-separated',
      nodeList,
    )
    .addOption(
      new Option(
        '--store <kind>',
        'without Redis: where conversations are kept (sqlite: in --data-dir, across restarts)',
      )
        .choices(['sqlite', 'memory'])
        .default('sqlite'),
    )
    .option('--data-dir <dir>', 'directory of the SQLite file of --store sqlite', DEFAULT_DATA_DIR)
    .option(
      '--postgres-url <url>',
      'keep conversations in this PostgreSQL database (postgres://user@host:5432/db; needs `npm install pg`; env POSTGRES_URL); with a Redis flag, Redis coordinates the processes and PostgreSQL keeps the conversations',
      postgresUrl,
      process.env.POSTGRES_URL || undefined,
    )
    .option('--redis-sentinel-name <name>', 'with --redis-sentinel: the name the Sentinels know the master by')
    .option('--redis-prefix <prefix>', 'prefix of every Redis key and channel', DEFAULT_REDIS_PREFIX)
    .option(
      '--redis-lease <seconds>',
      'how long a process that stops answering keeps its sessions before another takes them over',
      wholeNumber(1),
      DEFAULT_REDIS_LEASE_MS / 1000,
    )
    .option(
      '--redis-command-timeout <ms>',
      'longest wait for Redis to answer; past it Redis counts as hung: resumes close 1013, messages get store_unavailable',
      wholeNumber(10),
      DEFAULT_REDIS_COMMAND_TIMEOUT_MS,
    )
    .option(
      '--compression',
      'permessage-deflate for frames of 1 KiB and more, each on its own (streamed chunks go uncompressed)',
      false,
    )
    .option(
      '--compression-threshold-bytes <bytes>',
      'with compression: smallest frame compressed; 0 for all (implies --compression)',
      wholeNumber(0),
    )
    .option(
      '--compression-context-takeover',
      'with compression: compress every frame, keeping the window between frames (~5x fewer bytes per chunk, ~2x the CPU; implies --compression)',
      false,
    )
    .addOption(
      new Option('--log-level <level>', 'least severe server log line written')
        .choices(['debug', 'info', 'warn', 'error', 'silent'])
        .default(DEFAULT_LOG_LEVEL),
    )
    .option('--no-process-metrics', "leave Node's process metrics (process_*, nodejs_*) out of /metrics")
    .addHelpText(
      'after',
      '\nEnvironment:\n' +
        '  OPENAI_API_KEY    key of the model endpoint\n' +
        '  OPENAI_BASE_URL   any OpenAI-compatible endpoint (Ollama, vLLM, llama.cpp, LM Studio)\n' +
        '  LLM_MODEL         model name (default gpt-4o-mini)\n' +
        '  PORT, HOST        as --port and --host\n' +
        '  LLM_WS_AUTH_TOKEN as --auth-token\n' +
        '  REDIS_URL         as --redis-url\n' +
        '  REDIS_CLUSTER     as --redis-cluster (wins over REDIS_URL)\n' +
        '  POSTGRES_URL      as --postgres-url\n' +
        '  OTEL_EXPORTER_OTLP_ENDPOINT  export traces and metrics over OTLP/HTTP to this collector\n' +
        '                               (needs the OpenTelemetry packages: docs/guide/operations.md)\n' +
        '  OTEL_EXPORTER_OTLP_PROTOCOL  http/protobuf (default) or http/json\n' +
        '  OTEL_SERVICE_NAME            service.name of the traces and metrics (default llm-ws)\n' +
        '  OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true  record message contents in spans\n' +
        '  MIMALLOC_PURGE_DELAY=-1      run by Bun: its allocator keeps freed memory, for less CPU under\n' +
        '                               load (read by Bun at start-up: docs/guide/node.md, Runtimes)\n' +
        'With neither OPENAI_API_KEY nor OPENAI_BASE_URL set, an offline demo model answers.',
    )
    .action((options: ServeOptions, command: Command) => serve(options, (flag) => command.getOptionValueSource(flag)));
}
