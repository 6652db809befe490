import type { WSServerOptions } from '../../src/server/options';
import type { WSServer } from '../../src/server/ws-server';
import { createOpenAITestServer, type OpenAITestServer } from '../../src/testing/node';
import { startServerFor } from './test-server';
import { connectTestClient, type TestClient } from './ws-test-client';

/** One test's OpenAI-compatible upstream, WSServer and clients over loopback. */
export interface LoopbackServer {
  /** The model of this test (made before it, closed after it). */
  readonly upstream: OpenAITestServer;
  /** The server {@link start} started (or {@link track} took) in this test, if any. */
  readonly server: WSServer | undefined;
  /** Starts a WSServer on `upstream` (see startServerFor), stopped after the test. */
  start(options?: WSServerOptions): Promise<WSServer>;
  /** Takes a server made another way, to stop it after the test. */
  track(server: WSServer): WSServer;
  /** A test client on `url` (the server's by default), once greeted; closed after the test. */
  connect(url?: string): Promise<TestClient>;
}

/**
 * Registers the beforeEach/afterEach that give each test of the file a fresh upstream and close,
 * after it, every client, the server and the upstream: call it once at the top of a test file.
 */
export function useLoopbackServer(): LoopbackServer {
  let upstream: OpenAITestServer | undefined;
  let server: WSServer | undefined;
  const clients: TestClient[] = [];

  beforeEach(async () => {
    upstream = await createOpenAITestServer();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
    await server?.stop();
    server = undefined;
    await upstream?.close();
  });

  const current = (): OpenAITestServer => {
    if (!upstream) throw new Error('the upstream exists inside a test only');
    return upstream;
  };
  return {
    get upstream() {
      return current();
    },
    get server() {
      return server;
    },
    async start(options = {}) {
      server = await startServerFor(current(), options);
      return server;
    },
    track(given) {
      server = given;
      return given;
    },
    async connect(url) {
      const client = await connectTestClient(url ?? (server?.url as string));
      clients.push(client);
      await client.waitFor('session');
      return client;
    },
  };
}
