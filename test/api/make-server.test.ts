/**
 * An adapter written against the published names of `llm-ws/server` only: `makeServer`,
 * `makeServerOptions` and the `Transport` port are enough to serve the protocol over any socket.
 */
import {
  type ConnectionHandler,
  defineTool,
  type LLMEvent,
  type LLMProvider,
  makeServer,
  makeServerOptions,
  memoryStore,
  silentLogger,
  type Transport,
} from '../../src/server';
import { LLMWSError } from '../../src/errors';
import { of } from 'rxjs';

/** A socket of a made-up library: what the adapter wraps in a `Transport`. */
class LoopbackSocket implements Transport {
  readonly received: { type: string; seq?: number; data: Record<string, unknown> }[] = [];
  closedWith: { code: number; reason: string } | undefined;
  send(text: string): void {
    this.received.push(JSON.parse(text) as LoopbackSocket['received'][number]);
  }
  close(code: number, reason: string): void {
    this.closedWith = { code, reason };
  }
  bufferedAmount(): number {
    return 0;
  }
  onDrain(): () => void {
    return () => undefined;
  }
}

const answer: LLMProvider = () => of<LLMEvent[]>({ type: 'text', delta: 'four' }, { type: 'finish', reason: 'stop' });

describe('llm-ws/server: makeServer for an adapter of your own', () => {
  it('serves a conversation over a transport, with the WSServer options and defaults', async () => {
    const opened: string[] = [];
    const core = makeServer({
      ...makeServerOptions({ llm: answer, store: memoryStore(), logger: silentLogger, builtinTools: false }),
      hooks: { onConnected: (sessionId) => opened.push(sessionId) },
    });
    await core.ready();
    const socket = new LoopbackSocket();
    const handler: ConnectionHandler = core.opened(socket, { user: 'ada' });
    expect(socket.received[0]).toMatchObject({ type: 'session' });
    expect(opened).toEqual([socket.received[0]?.data.sessionId]);
    handler.receive(JSON.stringify({ type: 'user_message', id: 'q1', data: { text: 'two and two?' } }), false);
    expect(socket.received.find((message) => message.type === 'llm_complete')?.data).toMatchObject({
      fullText: 'four',
      requestId: 'q1',
    });
    handler.closed(1000, 'bye');
    await core.close();
    expect(core.sessionCount).toBe(0);
  });

  it('refuses a wrong option as the WSServer constructor does', () => {
    expect(() => makeServerOptions({ maxToolSteps: -1 })).toThrow(LLMWSError);
    expect(() => makeServerOptions({ requireApproval: ['no_such_tool'], builtinTools: false })).toThrow(
      /requireApproval/,
    );
  });

  it('gives the sessions the tools of the options', () => {
    const echo = defineTool({
      name: 'echo',
      description: 'echoes',
      parameters: { type: 'object', properties: {} },
      execute: () => 'echo',
    });
    const { session } = makeServerOptions({ llm: answer, tools: [echo], builtinTools: false, logger: silentLogger });
    expect(session.tools.definitions().map((tool) => tool.name)).toEqual(['echo']);
  });
});
