import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Registry } from 'prom-client';
import { filter, type Observable, Subject } from 'rxjs';
import { pathnameOf, refuseUpgrade } from '../adapters/http-upgrade';
import { type UpgradeDecision, useWsServer, type WebSocketAdapter } from '../adapters/ws';
import * as E from 'fp-ts/Either';
import { LLMWSError } from '../errors';
import { providerFromEnvironment } from '../llm/from-environment';
import type { LLMProvider } from '../llm/types';
import type { PushMessage } from '../protocol/codecs';
import { decodePushMessage } from '../protocol/decode';
import { CloseCode } from '../protocol/codes';
import type { ToolRegistry } from '../tools/types';
import { type Authenticate, originAllowed } from './auth';
import { wsUrlOf } from './endpoint';
import { createHttpRoutes } from './http-routes';
import { type BunTransportOptions, serveOnBun } from './bun-transport';
import { createServerMetrics, type ServerMetrics } from './metrics';
import { serverTools } from './server-tools';
import { createMcpToolRegistry, type McpToolRegistry } from '../tools/mcp/mcp-tools';
import { createUpstreamHealth, type UpstreamHealth } from './upstream-health';
import { resolveLogger, type Logger } from './logger';
import { coreOptionsFor } from './core-options';
import type { EventOf, HealthReport, SessionInfo, WSServerEvent } from './events';
import { createAiSdkEndpoint } from '../adapters/ai-sdk/endpoint';
import { createAgUiEndpoint } from '../adapters/ag-ui/endpoint';
import type { ServerResponse } from 'node:http';
import { memoryConversationBindings } from '../adapters/conversation-bindings';
import type { ConversationBindings } from '../core/ports';
import {
  DEFAULT_AG_UI_PATH,
  DEFAULT_AI_SDK_PATH,
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  DEFAULT_HOSTNAME,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_PAYLOAD_BYTES,
  DEFAULT_PATH,
  DEFAULT_PORT,
  DEFAULT_STOP_RETRY_AFTER_MS,
  type WSServerOptions,
} from './options';

export type { HealthReport, SessionInfo, WSServerEvent };
import { checkOptions, firstUseOfDeprecated, type CheckedOptions } from './validate-options';
import { type LLMWSCore, makeServer, type MakeServerOptions } from '../core/make-server';
import type { SessionStore } from '../core/ports';
import type { Session } from '../core/ports';
import { perMessageDeflateOf } from './compression';
import { memoryStore } from '../store/memory-store';
import { memoryAttachmentStore } from '../store/memory-attachments';
import type { AttachmentStore } from '../core/attachments';

/** The message as clients will get it, or throws the {@link ProtocolError} that says why they would reject it. */
function checkedPush(message: unknown): PushMessage {
  const decoded = decodePushMessage(message);
  if (E.isLeft(decoded)) throw decoded.left;
  return decoded.right;
}

/** The store's part of `/health`; on a cluster with masters that do not answer, it names them. */
function storeHealth(
  kind: string,
  core: Pick<LLMWSCore, 'health' | 'unavailableNodes'> | undefined,
): HealthReport['store'] {
  const status = core?.health() ?? 'ok';
  const unavailableNodes = core?.unavailableNodes() ?? [];
  return unavailableNodes.length === 0 ? { kind, status } : { kind, status, unavailableNodes };
}

/**
 * An llm-ws server: WebSocket on an HTTP server, one conversation per connection, each reply
 * streamed from the model with tools run on the way.
 *
 * ```ts
 * const server = new WSServer({ port: 3000 });
 * await server.start();
 * ```
 */
export class WSServer {
  /** Everything that happens, as one stream. */
  readonly events$: Observable<WSServerEvent>;

  private readonly options: CheckedOptions;
  private readonly logger: Logger;
  private readonly provider: LLMProvider;
  private readonly tools: ToolRegistry;
  /** The MCP servers' connections, when `mcpServers` names any. */
  private readonly mcp: McpToolRegistry | undefined;
  private readonly events = new Subject<WSServerEvent>();
  private readonly store: SessionStore;
  /** Where attachments' bytes are kept (`GET /attachments/<ref>` reads them). */
  private readonly attachmentStore: AttachmentStore;
  /** What `start` makes the core from, each time. */
  private readonly coreOptions: MakeServerOptions;
  /** The transport-agnostic server, made by `start` (none before, and after `stop`). */
  private core: LLMWSCore | undefined;
  /** The HTTP server served on once started: ours, or the `server` option's; none with `noServer`. */
  private httpServer: Server | undefined;
  private adapter: WebSocketAdapter | undefined;
  /** The AI SDK endpoint's sockets, once started (none with `aiSdkPath: false`). */
  private aiSdkAdapter: WebSocketAdapter | undefined;
  /** The AG-UI endpoint, once started (none with `agUiPath: false`). */
  private agUi: ((request: IncomingMessage, response: ServerResponse, principal: unknown) => void) | undefined;
  /** Where AI SDK chats are bound to sessions. */
  private readonly bindings: ConversationBindings;
  /** Our listener of the HTTP server's upgrades, while started. */
  private onUpgrade: ((request: IncomingMessage, socket: Duplex, head: Buffer) => void) | undefined;
  private address: AddressInfo | undefined;
  /** Waits for a `server` of the caller's that was not listening at `start` to listen. */
  private onListening: (() => void) | undefined;
  private readonly metrics: ServerMetrics;
  private readonly upstreamHealth: { current(): UpstreamHealth };
  private readonly startedAt = Date.now();

  constructor(options: WSServerOptions = {}) {
    const checked = checkOptions(options);
    options = checked.options;
    this.options = checked.options;
    this.logger = resolveLogger(options.logger);
    this.events$ = this.events.asObservable();
    let fromEnvironment: ReturnType<typeof providerFromEnvironment> | undefined;
    if (options.llm) {
      this.provider = options.llm;
    } else {
      fromEnvironment = providerFromEnvironment();
      this.provider = fromEnvironment.provider;
    }
    const ownTools = serverTools(options);
    this.mcp =
      options.mcpServers && options.mcpServers.length > 0
        ? createMcpToolRegistry(ownTools, options.mcpServers, {
            logger: this.logger,
            ...(options.toolTimeoutMs !== undefined ? { timeoutMs: options.toolTimeoutMs } : {}),
          })
        : undefined;
    this.tools = this.mcp ?? ownTools;
    this.metrics = createServerMetrics(
      {
        connections: () => this.getConnectionCount(),
        sessions: () => this.core?.sessionCount ?? 0,
        repliesRunning: () => this.repliesRunning(),
      },
      { registry: options.registry, collectDefaultMetrics: options.collectDefaultMetrics },
    );
    this.upstreamHealth = createUpstreamHealth(options.upstreamHealthCheck);
    this.store = options.store ?? memoryStore();
    this.attachmentStore = options.attachmentStore ?? memoryAttachmentStore();
    this.bindings = options.conversationBindings ?? memoryConversationBindings();
    this.coreOptions = coreOptionsFor(options, {
      store: this.store,
      provider: this.provider,
      tools: this.tools,
      logger: this.logger,
      metrics: this.metrics,
      events: this.events,
      attachmentStore: this.attachmentStore,
    });
    // Logged only now that nothing above threw: a server that was never made says nothing.
    for (const [old, name] of checked.deprecated) {
      if (firstUseOfDeprecated(old))
        this.logger.warn(
          { option: old, use: name },
          `WSServer option \`${old}\` is deprecated: use \`${name}\` (the old name goes in the next minor version)`,
        );
    }
    if (checked.unknown.length > 0) {
      this.logger.warn(
        { options: checked.unknown },
        `WSServer ignores unknown option(s) ${checked.unknown.map((name) => `\`${name}\``).join(', ')}: a typo? (see WSServerOptions)`,
      );
    }
    if (fromEnvironment) {
      const line = `answering with ${fromEnvironment.description}`;
      if (fromEnvironment.offline) this.logger.warn(line);
      else this.logger.info(line);
    }
  }

  private sessions(): Iterable<Session> {
    return this.core?.sessions() ?? [];
  }

  private repliesRunning(): number {
    let running = 0;
    for (const session of this.sessions()) if (session.busy) running++;
    return running;
  }

  /** The Prometheus registry of this server's metrics (the `registry` option's, or its own), to scrape from routes of your own. */
  get metricsRegistry(): Registry {
    // Typed as prom-client's default (Prometheus text) so `Registry.merge([register, ...])` takes
    // it; with an OpenMetrics `registry` option it is that registry, of that content type.
    return this.metrics.registry as Registry;
  }

  /** What `GET /health` answers: never waits on the model endpoint (its reachability is cached). */
  health(): HealthReport {
    const records = this.core?.recordsHealth();
    return {
      status: 'ok',
      uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000),
      connections: this.getConnectionCount(),
      sessions: this.core?.sessionCount ?? 0,
      repliesRunning: this.repliesRunning(),
      transport: this.options.transport ?? 'ws',
      store: storeHealth(this.store.kind, this.core),
      ...(records ? { records } : {}),
      upstream: this.upstreamHealth.current(),
    };
  }

  private async decideUpgrade(request: IncomingMessage): Promise<UpgradeDecision> {
    if (!originAllowed(request.headers.origin, this.options.allowedOrigins)) return { accept: false, status: 403 };
    if (!this.options.authenticate) return { accept: true, principal: undefined };
    const principal = await this.options.authenticate(request);
    return principal === null || principal === undefined ? { accept: false, status: 401 } : { accept: true, principal };
  }

  /** Whether `authenticate` accepts a request (for `/metrics` and `/health`). */
  private async authorized(request: IncomingMessage): Promise<boolean> {
    const principal = await (this.options.authenticate as Authenticate)(request);
    return principal !== null && principal !== undefined;
  }

  /**
   * The MCP servers of the `mcpServers` option: each one's name (what it calls itself, or the
   * configured one), whether it is connected, and how many tools it offers. Empty without any.
   */
  mcpServers(): Array<{ name: string; state: 'connecting' | 'connected' | 'disconnected' | 'closed'; tools: number }> {
    return this.mcp?.servers() ?? [];
  }

  /** The port listened on, once started and listening (useful with `port: 0`); undefined with `noServer`. */
  get port(): number | undefined {
    return this.address?.port;
  }

  /**
   * Where clients connect, typed for use: the WebSocket URL and port once the server listens.
   * Throws an `LLMWSError` with code `not_started` before that: before `start()` resolves, after
   * `stop()`, with `noServer`, and on a `server` of yours that does not listen yet (or listens on
   * a pipe). `url` and `port` are the same values, `undefined` in those cases.
   *
   * ```ts
   * await server.start();
   * const client = new WSClient({ url: server.endpoint.url });
   * ```
   */
  get endpoint(): { readonly url: string; readonly port: number } {
    const url = this.url;
    const port = this.port;
    if (url === undefined || port === undefined) {
      throw new LLMWSError(
        'not_started',
        'WSServer has no endpoint: it is not started and listening (with noServer, or on a server of yours not listening yet, it never has one)',
      );
    }
    return { url, port };
  }

  /** The WebSocket URL clients connect to, once started and listening; undefined with `noServer`. See {@link WSServer.endpoint} for a `string`. */
  get url(): string | undefined {
    return this.address ? wsUrlOf(this.address, this.options) : undefined;
  }

  /**
   * Opens the session store and accepts connections. Without `server` or `noServer`, creates an
   * HTTP server and listens on `port` and `hostname` (rejecting if the port is taken). Given a
   * `server`, never listens: it serves upgrades to `path` of that server, whenever it listens (the
   * `started` event and `url` wait for it). With `noServer`, upgrades come only through
   * {@link WSServer.handleUpgrade}. Rejects with an `LLMWSError` of code `already_started` if the
   * server already runs (it may be started again after `stop()`). Once it resolves on a server it
   * listens on itself, {@link WSServer.endpoint} has the url and port.
   */
  async start(): Promise<void> {
    if (this.adapter || this.core)
      throw new LLMWSError('already_started', 'WSServer is already started: call stop() before starting it again');
    const routes = createHttpRoutes({
      wsPath: this.options.path ?? DEFAULT_PATH,
      staticDir: this.options.demoDir,
      health: () => this.health(),
      metrics: this.metrics.registry,
      attachment: (ref) => this.attachmentStore.get(ref),
      ...(this.options.authenticate
        ? { authorizeAttachment: (request: IncomingMessage) => this.authorized(request) }
        : {}),
      ...(this.options.authenticate && this.options.metricsAuth !== false
        ? { authorize: (request: IncomingMessage) => this.authorized(request) }
        : {}),
      ...(this.agUiPath() === undefined
        ? {}
        : {
            post: {
              path: this.agUiPath() as string,
              handle: (request: IncomingMessage, response: ServerResponse) => this.handleAgUi(request, response),
            },
          }),
    });
    const onBun = this.options.transport === 'bun';
    const ownsServer = !this.options.server && !this.options.noServer;
    const server = onBun ? undefined : ownsServer ? createServer(routes) : this.options.server;
    const core = makeServer(this.coreOptions);
    this.core = core;
    // Before the first connection, so the first reply is offered the MCP servers' tools.
    await this.mcp?.start();
    await core.ready();
    this.httpServer = server;
    const adapterOptions = {
      ownsServer,
      maxPayload: this.options.maxPayload ?? DEFAULT_MAX_PAYLOAD_BYTES,
      perMessageDeflate: perMessageDeflateOf(this.options.enableCompression),
      heartbeatInterval: this.options.heartbeatInterval ?? DEFAULT_HEARTBEAT_INTERVAL_MS,
      maxConnections: this.options.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
      logger: this.logger,
      decideUpgrade: (request: IncomingMessage) => this.decideUpgrade(request),
    };
    if (!onBun) this.adapter = useWsServer(core, { ...adapterOptions, path: this.options.path ?? DEFAULT_PATH });
    if (this.agUiPath() !== undefined)
      this.agUi = createAgUiEndpoint(core, {
        bindings: this.bindings,
        bindingTtlMs: this.coreOptions.sessionTtlMs,
        maxBodyBytes: this.options.maxPayload ?? DEFAULT_MAX_PAYLOAD_BYTES,
        logger: this.logger,
      });
    const aiSdkPath = this.aiSdkPath();
    const endpoints = [{ path: this.options.path ?? DEFAULT_PATH, core: core as Pick<LLMWSCore, 'opened'> }];
    if (aiSdkPath !== undefined) {
      const endpoint = createAiSdkEndpoint(core, {
        bindings: this.bindings,
        bindingTtlMs: this.coreOptions.sessionTtlMs,
        logger: this.logger,
      });
      if (onBun) endpoints.push({ path: aiSdkPath, core: endpoint });
      else this.aiSdkAdapter = useWsServer(endpoint, { ...adapterOptions, path: aiSdkPath });
    }
    if (onBun) return this.startOnBun(core, { ...adapterOptions, routes, endpoints });
    if (server) {
      // One listener for every endpoint: only a server with nobody else to answer gets 404 from us.
      const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
        if (this.handleUpgrade(request, socket, head)) return;
        if (ownsServer || server.listenerCount('upgrade') === 1) refuseUpgrade(socket, 404);
      };
      this.onUpgrade = onUpgrade;
      server.on('upgrade', onUpgrade);
    }
    if (server && ownsServer) {
      try {
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(this.options.port ?? DEFAULT_PORT, this.options.hostname ?? DEFAULT_HOSTNAME, () => {
            server.off('error', reject);
            resolve();
          });
        });
      } catch (error) {
        if (this.onUpgrade) server.off('upgrade', this.onUpgrade);
        this.onUpgrade = undefined;
        await this.aiSdkAdapter?.close(CloseCode.GoingAway, 'server failed to start');
        this.aiSdkAdapter = undefined;
        await this.adapter?.close(CloseCode.GoingAway, 'server failed to start');
        await core.close();
        await this.mcp?.close();
        this.adapter = undefined;
        this.httpServer = undefined;
        this.core = undefined;
        throw error;
      }
    }
    if (!server || server.listening) return this.started(server);
    // The caller's server listens when the caller says so; not ours to listen on any port.
    const onListening = (): void => {
      this.onListening = undefined;
      this.started(server);
    };
    this.onListening = onListening;
    server.once('listening', onListening);
  }

  /** `transport: 'bun'`: listens with `Bun.serve` (see ./bun-transport.ts); on failure nothing stays open. */
  private async startOnBun(core: LLMWSCore, options: Omit<BunTransportOptions, 'port' | 'hostname'>): Promise<void> {
    try {
      const bun = await serveOnBun({
        ...options,
        port: this.options.port ?? DEFAULT_PORT,
        hostname: this.options.hostname ?? DEFAULT_HOSTNAME,
      });
      this.adapter = bun;
      this.address = bun.address;
    } catch (error) {
      await core.close();
      await this.mcp?.close();
      this.core = undefined;
      this.agUi = undefined;
      throw error;
    }
    this.events.next({ type: 'started', url: this.url, port: this.port });
  }

  private started(server: Server | undefined): void {
    const address = server?.address();
    this.address = address !== null && typeof address === 'object' ? address : undefined;
    this.events.next({ type: 'started', url: this.url, port: this.port });
  }

  /**
   * Hands an HTTP upgrade to this server (with `noServer: true`, from an `upgrade` listener of
   * yours). Returns true if it is for this server's `path`: then the socket is answered (a
   * WebSocket, or a refusal such as 401, 403, or 503 when the server is not started). Returns
   * false for any other path, leaving the socket untouched for your other endpoints.
   *
   * ```ts
   * httpServer.on('upgrade', (request, socket, head) => {
   *   if (!llm.handleUpgrade(request, socket, head)) other.handleUpgrade(request, socket, head, ...);
   * });
   * ```
   */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    if (this.adapter)
      return (
        this.adapter.handleUpgrade(request, socket, head) ||
        (this.aiSdkAdapter?.handleUpgrade(request, socket, head) ?? false)
      );
    const pathname = pathnameOf(request);
    if (pathname !== (this.options.path ?? DEFAULT_PATH) && pathname !== this.aiSdkPath()) return false;
    refuseUpgrade(socket, 503);
    return true;
  }

  /**
   * Answers one `POST` of the AG-UI endpoint (a `RunAgentInput`, answered with SSE): for a
   * `server` of yours, route your framework's POST to it; the server's own HTTP server does so
   * itself. Checks the origin (403) and `authenticate` (401) first; 503 when not started, 404
   * with `agUiPath: false`. CORS: a request from an allowed origin (`allowedOrigins`, any by
   * default) is answered with `Access-Control-Allow-Origin` naming it, and its preflight
   * (`OPTIONS`) with 204; credentials (cookies) are never allowed across origins: send a token.
   */
  handleAgUi(request: IncomingMessage, response: ServerResponse): void {
    const refuse = (status: number, text: string): void => {
      response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(`${text}\n`);
    };
    const agUi = this.agUi;
    if (this.agUiPath() === undefined) return refuse(404, 'no AG-UI endpoint (agUiPath: false)');
    const origin = request.headers.origin;
    if (origin !== undefined && originAllowed(origin, this.options.allowedOrigins)) {
      // Named, not `*`, so a cache keyed by URL alone never hands one origin's answer to another.
      response.setHeader('access-control-allow-origin', origin);
      response.setHeader('vary', 'Origin');
    }
    if (request.method === 'OPTIONS') {
      if (origin === undefined || !originAllowed(origin, this.options.allowedOrigins))
        return refuse(403, 'origin not allowed');
      response
        .writeHead(204, {
          'access-control-allow-methods': 'POST',
          'access-control-allow-headers': 'authorization, content-type, accept',
          'access-control-max-age': '600',
        })
        .end();
      return;
    }
    if (!agUi) return refuse(503, 'the server is not started');
    this.decideUpgrade(request).then(
      (decision) => {
        if (!decision.accept)
          return refuse(decision.status, decision.status === 403 ? 'origin not allowed' : 'the auth token is required');
        agUi(request, response, decision.principal);
      },
      (error: unknown) => {
        this.logger.error({ err: error }, 'deciding an AG-UI request failed (authenticate threw?)');
        refuse(500, 'authentication failed inside the server');
      },
    );
  }

  /** The AG-UI endpoint's path, if it is on. */
  private agUiPath(): string | undefined {
    const path = this.options.agUiPath ?? DEFAULT_AG_UI_PATH;
    return path === false ? undefined : path;
  }

  /** The AI SDK endpoint's path, if it is on. */
  private aiSdkPath(): string | undefined {
    const path = this.options.aiSdkPath ?? DEFAULT_AI_SDK_PATH;
    return path === false ? undefined : path;
  }

  /**
   * Stops: refuses new connections, tells every client when to come back (`closing` with
   * `retryAfterMs`), ends running replies (cancelling their model requests), closes clients with
   * 1001 and stops listening. Resolves once all is closed, or after `timeoutMs` with the
   * stragglers terminated. Safe to call twice.
   */
  async stop(options: { timeoutMs?: number } = {}): Promise<void> {
    const adapter = this.adapter;
    const server = this.httpServer;
    if (!adapter) return;
    this.adapter = undefined;
    this.httpServer = undefined;
    if (this.onListening) server?.off('listening', this.onListening);
    this.onListening = undefined;
    if (this.onUpgrade) server?.off('upgrade', this.onUpgrade);
    this.onUpgrade = undefined;
    const aiSdkAdapter = this.aiSdkAdapter;
    this.aiSdkAdapter = undefined;
    this.agUi = undefined;
    // The core tells connected clients when to come back and ends the sessions; the adapter closes the sockets.
    const closingCore = this.core?.close({
      retryAfterMs: this.options.stopRetryAfterMs ?? DEFAULT_STOP_RETRY_AFTER_MS,
    });
    await Promise.all([
      adapter.close(CloseCode.GoingAway, 'server stopping', options.timeoutMs ?? 5000),
      aiSdkAdapter?.close(CloseCode.GoingAway, 'server stopping', options.timeoutMs ?? 5000),
    ]);
    await closingCore;
    this.core = undefined;
    await this.mcp?.close();
    if (server && !this.options.server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    this.address = undefined;
    this.events.next({ type: 'stopped' });
  }

  /**
   * Sends a message into one session's stream: delivered now if its client is connected, or on
   * resume. With a shared store the session may be on another process. Resolves false if
   * there is no such session (or the server is not started); rejects if the shared store
   * cannot be reached.
   *
   * The message is checked first with the codecs clients decode it with: a `notification`, or a
   * reply message (`llm_chunk`, `llm_complete`, `tool_call`, `tool_result`, with or without a
   * `requestId`), `history` or `error`. Anything a client would reject, and `status`, `session`,
   * `pong` or `closing`, is refused: the promise rejects with a {@link ProtocolError}
   * (`invalid_message` or `unknown_type`) naming the field, and nothing is sent.
   */
  async sendToClient(sessionId: string, message: PushMessage): Promise<boolean> {
    return this.core?.push(sessionId, checkedPush(message)) ?? false;
  }

  /**
   * Sends a message to every session but `excludeSessionId`: this process's (connected ones
   * and, with the memory store, those waiting for a resume) and, with a shared store, those
   * held by the other processes. Resolves with how many of this process's sessions it went to.
   * The message is checked as {@link WSServer.sendToClient} checks it; a refused one rejects
   * with a {@link ProtocolError} and goes to nobody.
   */
  async broadcast(message: PushMessage, excludeSessionId?: string): Promise<number> {
    return this.core?.broadcast(checkedPush(message), excludeSessionId) ?? 0;
  }

  /** The sessions this process holds: connected ones, and those waiting here for a resume. */
  getActiveSessions(): SessionInfo[] {
    return [...this.sessions()].map((session) => ({
      sessionId: session.id,
      status: session.status,
      connected: session.attached,
      historyLength: session.history().length,
      principal: session.principal,
      heldBytes: session.heldBytes,
    }));
  }

  /** How many WebSocket connections are open. */
  getConnectionCount(): number {
    return (this.adapter?.connectionCount() ?? 0) + (this.aiSdkAdapter?.connectionCount() ?? 0);
  }

  /** Calls back once the server listens. Returns an unsubscribe function. */
  onStarted(callback: (event: EventOf<'started'>) => void): () => void {
    return this.on('started', callback);
  }

  /** Calls back once the server has stopped. Returns an unsubscribe function. */
  onStopped(callback: (event: EventOf<'stopped'>) => void): () => void {
    return this.on('stopped', callback);
  }

  /** Calls back for each new client. Returns an unsubscribe function. */
  onClientConnected(callback: (event: EventOf<'client_connected'>) => void): () => void {
    return this.on('client_connected', callback);
  }

  /** Calls back for each client that left. Returns an unsubscribe function. */
  onClientDisconnected(callback: (event: EventOf<'client_disconnected'>) => void): () => void {
    return this.on('client_disconnected', callback);
  }

  /** Calls back for each bad frame a client sent (the client has been answered already). Returns an unsubscribe function. */
  onClientError(callback: (event: EventOf<'client_error'>) => void): () => void {
    return this.on('client_error', callback);
  }

  private on<K extends WSServerEvent['type']>(type: K, callback: (event: EventOf<K>) => void): () => void {
    const subscription = this.events$
      .pipe(filter((event): event is EventOf<K> => event.type === type))
      .subscribe((event) => {
        // A throwing callback must not take the server down (RxJS would rethrow it asynchronously).
        try {
          callback(event);
        } catch (error) {
          this.logger.error({ err: error, event: type }, 'an event callback threw');
        }
      });
    return () => subscription.unsubscribe();
  }
}
