/**
 * The set-up of the multi-process tests: servers (`llm-ws serve` processes or in-process
 * `WSServer`s) behind one address, a TCP proxy standing in for a load balancer without sticky
 * sessions, and a `WSClient` through it that a test moves from one server to another. Call
 * {@link useServeProcesses} at the top of a test file: it starts the OpenAI test server before
 * each test and closes the client, the proxy, every server and the test server after it.
 */
import { WSClient } from '../../src/client/node';
import type { WSClientOptions } from '../../src/client/options';
import type { WSServerOptions } from '../../src/server/options';
import type { WSServer } from '../../src/server/ws-server';
import { createOpenAITestServer, type OpenAITestServer } from '../../src/testing/node';
import { type CliProcess, spawnCli } from './spawn-cli';
import { createTcpProxy, type TcpProxy } from './tcp-proxy';
import { startServerFor } from './test-server';

/** `count` numbered chunks (`c0 `, `c1 `, ...): a reply whose order and completeness a test can read. */
export const numbered = (count: number): string[] => Array.from({ length: count }, (_, i) => `c${i} `);

/** One `llm-ws serve` process and the port it listens on. */
export interface Served {
  readonly cli: CliProcess;
  readonly port: number;
}

export interface ServeProcesses {
  /** This test's OpenAI-compatible test server. */
  readonly upstream: OpenAITestServer;
  /** The proxy of {@link clientThrough}, once a test made one. */
  readonly proxy: TcpProxy | undefined;
  /**
   * Starts `llm-ws serve` on this test's upstream with `storeFlags` (and a 1 s lease); resolves
   * with its port once it listens, after checking that its start-up output names `announced`.
   */
  readonly serveProcess: (storeFlags: readonly string[], announced?: string) => Promise<Served>;
  /** Starts an in-process `WSServer` on this test's upstream; stopped after the test. */
  readonly startServer: (options: WSServerOptions) => Promise<WSServer>;
  /**
   * The load balancer: a TCP proxy to `port` (made once per test; later calls retarget it).
   * Resolves with the port to connect to.
   */
  readonly balancerTo: (port: number) => Promise<number>;
  /** A connected `WSClient` that reaches `port` through the balancer (quick reconnects unless `options` say otherwise). */
  readonly clientThrough: (port: number, options?: Partial<WSClientOptions>) => Promise<WSClient>;
  /** The load balancer sends the client's next connection to `port`, and the network drops the current one. */
  readonly moveClientTo: (port: number) => void;
  /** Kills a `serve` process at once (SIGKILL), as a crash would. */
  readonly kill: (served: Served) => Promise<void>;
}

/** Registers the hooks that start and close the multi-process set-up for each test of the file. */
export function useServeProcesses(): ServeProcesses {
  let upstream: OpenAITestServer | undefined;
  let processes: CliProcess[] = [];
  let servers: WSServer[] = [];
  let proxy: TcpProxy | undefined;
  let client: WSClient | undefined;

  beforeEach(async () => {
    upstream = await createOpenAITestServer();
  });
  afterEach(async () => {
    client?.disconnect();
    client = undefined;
    await proxy?.close();
    proxy = undefined;
    await Promise.all([...processes.map((cli) => cli.stop()), ...servers.map((server) => server.stop())]);
    processes = [];
    servers = [];
    await upstream?.close();
    upstream = undefined;
  });

  const theUpstream = (): OpenAITestServer => {
    if (!upstream) throw new Error('useServeProcesses: only inside a test');
    return upstream;
  };

  const balancerTo = async (port: number): Promise<number> => {
    if (proxy) proxy.retarget(port);
    else proxy = await createTcpProxy(port);
    return proxy.port;
  };

  return {
    get upstream() {
      return theUpstream();
    },
    get proxy() {
      return proxy;
    },
    serveProcess: async (storeFlags, announced) => {
      const cli = spawnCli(
        ['serve', '--port', '0', '--host', '127.0.0.1', '--model', 'test-model', ...storeFlags, '--redis-lease', '1'],
        { OPENAI_BASE_URL: theUpstream().baseURL },
      );
      processes.push(cli);
      const [, port] = await cli.waitForOutput(/listening on ws:\/\/[^:]+:(\d+)/, 30_000);
      if (announced !== undefined) expect(cli.output()).toContain(announced);
      return { cli, port: Number(port) };
    },
    startServer: async (options) => {
      const server = await startServerFor(theUpstream(), options);
      servers.push(server);
      return server;
    },
    balancerTo,
    clientThrough: async (port, options = {}) => {
      client = new WSClient({
        url: `ws://127.0.0.1:${await balancerTo(port)}/ws`,
        reconnectDelay: 20,
        maxReconnectDelay: 200,
        reconnectAttempts: 300,
        ...options,
      });
      await client.connect();
      return client;
    },
    moveClientTo: (port) => {
      proxy?.retarget(port);
      proxy?.cutAll();
    },
    kill: async (served) => {
      served.cli.child.kill('SIGKILL');
      await served.cli.exited;
    },
  };
}
