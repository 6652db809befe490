/**
 * A server on the native Bun adapter (`llm-ws/bun`'s `useBunServer` on `Bun.serve`), for tests
 * to run under Bun: `bun test/utils/bun-adapter-server.ts` with OPENAI_BASE_URL set. Prints
 * `ready <port>`; SIGTERM closes it. HIGH_WATER_MARK_BYTES and MAX_REPLY_TEXT_BYTES set those options.
 */
import { useBunServer } from '../../src/adapters/bun';
import { silentLogger } from '../../src/core/logger';
import { makeServer } from '../../src/core/make-server';
import { makeServerOptions } from '../../src/server/core-options';

declare const Bun: {
  serve(options: Record<string, unknown>): { readonly port: number; stop(closeActiveConnections?: boolean): void };
};

async function main(): Promise<void> {
  const core = makeServer(
    makeServerOptions({
      logger: silentLogger,
      ...(process.env.HIGH_WATER_MARK_BYTES ? { highWaterMarkBytes: Number(process.env.HIGH_WATER_MARK_BYTES) } : {}),
      ...(process.env.MAX_REPLY_TEXT_BYTES ? { maxReplyTextBytes: Number(process.env.MAX_REPLY_TEXT_BYTES) } : {}),
    }),
  );
  await core.ready();
  const adapter = useBunServer(core, {
    path: '/ws',
    maxPayload: 1024 * 1024,
    heartbeatInterval: 30_000,
    maxConnections: 100,
    logger: silentLogger,
    decideUpgrade: async () => ({ accept: true, principal: undefined }),
  });
  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    // Undefined once upgraded; any path but the WebSocket's is not found.
    fetch: async (request: Request, bun: Parameters<typeof adapter.fetch>[1]) => {
      const answer = await adapter.fetch(request, bun);
      return answer === null ? new Response('not found', { status: 404 }) : answer;
    },
    websocket: adapter.websocket,
  });
  console.log(`ready ${server.port}`);
  process.on('SIGTERM', () => {
    void (async () => {
      await adapter.close(1001, 'server shutting down');
      await core.close();
      server.stop(true);
      process.exit(0);
    })();
  });
}

void main();
