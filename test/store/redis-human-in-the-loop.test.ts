/**
 * Human in the loop across two WSServer processes sharing the real Redis: a reply that waits for
 * the user's approval (or a client tool's result) on one process while its client moves to the
 * other, which forwards the answer to where the reply runs, as it does `abort`.
 */
import { filter, firstValueFrom } from 'rxjs';
import { humanInTheLoop } from '../../src/client/human-in-the-loop';
import { WSClient } from '../../src/client/node';
import type { WSClientOptions } from '../../src/client/options';
import type { WSServer } from '../../src/server/ws-server';
import { redisStore } from '../../src/store/redis';
import { defineTool } from '../../src/tools/types';
import { isolatedRedisKeys, TEST_REDIS_URL } from '../utils/redis';
import { useServeProcesses } from '../utils/serve-processes';

const keys = isolatedRedisKeys();
const served = useServeProcesses();
/** Where each run of the tool happened, by server port. */
let runs: number[] = [];

/** A server on the shared store, with a tool that needs approval and records where it ran. */
async function startNode(): Promise<WSServer> {
  const server: WSServer = await served.startServer({
    store: redisStore({ url: TEST_REDIS_URL, prefix: keys.prefix, leaseMs: 1000 }),
    builtinTools: false,
    tools: [
      defineTool({
        name: 'send_mail',
        description: 'Sends an e-mail',
        parameters: { type: 'object', properties: { to: { type: 'string' } } },
        needsApproval: true,
        execute: () => {
          runs.push(server.port as number);
          return 'sent';
        },
      }),
    ],
  });
  return server;
}

/** A WSClient that reaches `server` through a proxy the test can point elsewhere (the load balancer). */
const clientThroughProxy = (server: WSServer, options: Partial<WSClientOptions> = {}): Promise<WSClient> =>
  served.clientThrough(server.port as number, {
    humanInTheLoop,
    maxReconnectDelay: 100,
    reconnectAttempts: 50,
    ...options,
  });

beforeEach(() => {
  runs = [];
});

describe('redisStore: human in the loop across two servers', () => {
  it("a reply waiting for approval survives its client's move, and the approval sent to the other server runs the tool where the reply runs", async () => {
    const a = await startNode();
    const b = await startNode();
    served.upstream.enqueue(
      { type: 'tool_calls', calls: [{ id: 'call_mail', name: 'send_mail', arguments: { to: 'boss' } }] },
      { type: 'text', chunks: ['Sent.'] },
    );
    const moving = await clientThroughProxy(a);
    const reply = moving.sendMessage('mail the boss');
    const [asked] = await firstValueFrom(moving.approvals$.pipe(filter((pending) => pending.length > 0)));
    expect(asked).toMatchObject({ toolCallId: 'call_mail', toolName: 'send_mail', args: { to: 'boss' } });
    // The load balancer sends the reconnect to the other server; the reply waits on the first.
    served.moveClientTo(b.port as number);
    await firstValueFrom(moving.status$.pipe(filter((status) => status === 'reconnecting')));
    await firstValueFrom(moving.status$.pipe(filter((status) => status === 'connected')));
    expect(b.getActiveSessions()).toEqual([expect.objectContaining({ sessionId: moving.sessionId, connected: true })]);
    moving.approve('call_mail');
    expect((await reply).fullText).toBe('Sent.');
    expect(runs).toEqual([a.port]);
    expect(served.upstream.requests).toHaveLength(2);
  });

  it("a client tool's result sent to the other server reaches the reply on the first", async () => {
    const a = await startNode();
    const b = await startNode();
    served.upstream.enqueue(
      { type: 'tool_calls', calls: [{ id: 'call_clock', name: 'get_browser_time', arguments: {} }] },
      { type: 'text', chunks: ['Noon.'] },
    );
    let release!: (value: string) => void;
    const answer = new Promise<string>((resolve) => (release = resolve));
    const moving = await clientThroughProxy(a, {
      tools: [
        {
          name: 'get_browser_time',
          description: 'the time here',
          parameters: { type: 'object' },
          execute: () => answer,
        },
      ],
    });
    const reply = moving.sendMessage('what time is it here?');
    await firstValueFrom(moving.toolCalls$.pipe(filter((call) => call.status === 'client_execute')));
    served.moveClientTo(b.port as number);
    await firstValueFrom(moving.status$.pipe(filter((status) => status === 'reconnecting')));
    await firstValueFrom(moving.status$.pipe(filter((status) => status === 'connected')));
    release('12:00');
    expect((await reply).fullText).toBe('Noon.');
    const toolMessages = (await served.upstream.request(1)).body.messages.filter(
      (m: { role: string }) => m.role === 'tool',
    );
    expect(toolMessages).toEqual([expect.objectContaining({ content: '12:00' })]);
  });
});

describe('redisStore: a session shared across two servers', () => {
  it('a connection joining with share on the other server follows the stream, and the first is not taken over', async () => {
    const a = await startNode();
    const b = await startNode();
    const words = Array.from({ length: 40 }, (_, i) => `w${i} `);
    served.upstream.enqueue({ type: 'text', chunks: words, delayMs: 2 });
    const first = new WSClient({ humanInTheLoop, url: a.url as string, share: true, heartbeatInterval: 0 });
    const second = new WSClient({
      humanInTheLoop,
      url: b.url as string,
      share: true,
      heartbeatInterval: 0,
      session: await first.connect().then(() => first.session),
    });
    try {
      // Started before the join: a session with a message is one Redis keeps for the other server.
      const reply = first.sendMessage('count');
      await firstValueFrom(first.chunks$);
      // The replay from seq 0, then the live stream: every chunk once, in order.
      const seen: string[] = [];
      second.chunks$.subscribe(({ chunk }) => chunk && seen.push(chunk));
      const done = firstValueFrom(second.completions$);
      await second.connect();
      expect(second.sessionId).toBe(first.sessionId);
      expect((await reply).fullText).toBe(words.join(''));
      expect((await done).fullText).toBe(words.join(''));
      expect(seen).toEqual(words);
      expect(first.isConnected()).toBe(true);
    } finally {
      first.disconnect();
      second.disconnect();
    }
  });
});
