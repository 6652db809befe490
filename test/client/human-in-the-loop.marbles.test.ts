import { filter, finalize, map, NEVER, type Observable } from 'rxjs';
import { humanInTheLoop } from '../../src/client/human-in-the-loop';
import { TestScheduler } from 'rxjs/testing';
import { WSClient } from '../../src/client/ws-client';
import type { ClientTool, WSClientOptions } from '../../src/client/options';
import {
  createFakeServer,
  type FakeServer,
  makeChunk,
  makeSession,
  makeComplete,
  makeError,
  makeReasoning,
  makeToolCall,
} from '../../src/testing';

/**
 * The client's side of human-in-the-loop in virtual time: `approvals$` (pending approval
 * requests, from the session's stream), approve/deny frames, client tools run for the client's
 * own replies, and reasoning.
 */
const testScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

function setup(server: FakeServer, options: Partial<WSClientOptions> = {}) {
  return new WSClient({
    humanInTheLoop,
    url: 'ws://fake/ws',
    WebSocketCtor: server.WebSocketCtor,
    heartbeatInterval: 0,
    reconnectJitter: 0,
    reconnectDelay: 100,
    timeout: 1000,
    ...options,
  });
}

/** Runs `action` at the frame the marble's `x` stands at (inside `TestScheduler.run`). */
const at = (cold: (marbles: string) => Observable<string>, marbles: string, action: () => void) =>
  cold(marbles).subscribe(() => action());

const ids = (requests: readonly { toolCallId: string }[]) => requests.map((request) => request.toolCallId).join(',');

describe('approvals$ (marbles)', () => {
  it('lists each call waiting for approval until the server moves it on, the reply ends, or the user answers', () => {
    testScheduler().run(({ cold, expectObservable, flush }) => {
      const server = createFakeServer();
      server.answer('user_message', ({ id }) =>
        cold('-a-b-c-d-e', {
          a: makeToolCall(id, {
            toolCallId: 'c1',
            toolName: 'send_mail',
            status: 'approval_required',
            timeoutMs: 60_000,
          }),
          b: makeToolCall(id, { toolCallId: 'c2', toolName: 'delete_file', status: 'approval_required' }),
          // Approved on another tab: the server runs it.
          c: makeToolCall(id, { toolCallId: 'c1', toolName: 'send_mail', status: 'start' }),
          d: makeToolCall(id, { toolCallId: 'c3', toolName: 'pay', status: 'approval_required' }),
          e: makeComplete(id, 'done'),
        }),
      );
      const client = setup(server);
      void client.connect();
      server.latest.accept();
      at(cold, '1ms x', () => client.send('go').subscribe());
      // c2 is denied here at 7, before the server says anything of it.
      at(cold, '7ms x', () => client.deny('c2', 'too risky'));
      expectObservable(client.approvals$.pipe(map(ids))).toBe('a-b-c-def-g', {
        a: '',
        b: 'c1',
        c: 'c1,c2',
        d: 'c2',
        e: '',
        f: 'c3',
        g: '',
      });
      flush();
      expect(server.latest.sentOf('tool_approval').map((m) => m.data)).toEqual([
        { toolCallId: 'c2', approved: false, reason: 'too risky' },
      ]);
    });
  });

  it("carries the request's details, and onToolApproval answers with the handler's boolean", () => {
    // Returned: the handler's answers are checked a microtask after the run.
    return testScheduler().run(({ cold, flush }) => {
      const server = createFakeServer();
      server.answer('user_message', ({ id }) =>
        cold('-a-b', {
          a: makeToolCall(id, {
            toolCallId: 'c1',
            toolName: 'send_mail',
            args: { to: 'boss' },
            status: 'approval_required',
            timeoutMs: 5000,
          }),
          b: makeToolCall(id, {
            toolCallId: 'c2',
            toolName: 'send_mail',
            args: { to: 'all' },
            status: 'approval_required',
          }),
        }),
      );
      const client = setup(server);
      const seen: unknown[] = [];
      client.approvals$.subscribe((list) => seen.push(list));
      client.onToolApproval((request) => (request.args as { to: string }).to === 'boss');
      void client.connect();
      server.latest.accept();
      client.send('go').subscribe();
      flush();
      expect(seen[1]).toEqual([
        {
          toolCallId: 'c1',
          toolName: 'send_mail',
          args: { to: 'boss' },
          requestId: expect.any(String),
          timeoutMs: 5000,
        },
      ]);
      return Promise.resolve().then(() => {
        expect(server.latest.sentOf('tool_approval').map((m) => m.data)).toEqual([
          { toolCallId: 'c1', approved: true },
          { toolCallId: 'c2', approved: false },
        ]);
      });
    });
  });

  it('keeps a pending request across a reconnect, and the answer goes out on the new connection', () => {
    testScheduler().run(({ cold, expectObservable, flush }) => {
      const server = createFakeServer();
      // Like the real server, the message sent again after the reconnect is not answered twice.
      let answered = 0;
      server.answer('user_message', ({ id }) =>
        answered++ > 0
          ? []
          : cold('-a', {
              a: makeToolCall(id, { toolCallId: 'c1', toolName: 'send_mail', status: 'approval_required' }),
            }),
      );
      const client = setup(server);
      void client.connect();
      server.latest.accept();
      client.send('go').subscribe();
      at(cold, '5ms x', () => server.latest.fail()); // reconnect at 105
      at(cold, '50ms x', () => client.approve('c1')); // while reconnecting: queued
      at(cold, '150ms x', () => server.latest.acceptResume(1));
      expectObservable(client.approvals$.pipe(map(ids))).toBe('ab 48ms c', { a: '', b: 'c1', c: '' });
      flush();
      expect(server.sockets[0]?.sentOf('tool_approval')).toEqual([]);
      expect(server.latest.sentOf('tool_approval').map((m) => m.data)).toEqual([{ toolCallId: 'c1', approved: true }]);
    });
  });
});

describe('answers the server refuses (marbles)', () => {
  it("cuts a reason past the protocol's 1,000 characters, so the decision is not refused for it", () => {
    testScheduler().run(({ cold, flush }) => {
      const server = createFakeServer();
      server.answer('user_message', ({ id }) =>
        cold('-a', { a: makeToolCall(id, { toolCallId: 'c1', toolName: 'send_mail', status: 'approval_required' }) }),
      );
      const client = setup(server);
      void client.connect();
      server.latest.accept();
      client.send('go').subscribe();
      at(cold, '3ms x', () => client.deny('c1', 'r'.repeat(1500)));
      flush();
      expect(server.latest.sentOf('tool_approval').map((m) => m.data)).toEqual([
        { toolCallId: 'c1', approved: false, reason: 'r'.repeat(1000) },
      ]);
    });
  });

  it('lists a call again when the server refuses its answer (but not when the call waits no more)', () => {
    testScheduler().run(({ cold, expectObservable, flush }) => {
      const server = createFakeServer();
      server.answer('user_message', ({ id }) =>
        cold('-a-b', {
          a: makeToolCall(id, { toolCallId: 'c1', toolName: 'send_mail', status: 'approval_required' }),
          b: makeToolCall(id, { toolCallId: 'c2', toolName: 'pay', status: 'approval_required' }),
        }),
      );
      server.answer('tool_approval', ({ id, data }) =>
        cold('-a', {
          a:
            data.toolCallId === 'c1'
              ? makeError('rate_limited', 'slow down', { requestId: id, retryable: true })
              : makeError('unknown_tool_call', `no tool call ${data.toolCallId} waits for an approval`, {
                  requestId: id,
                }),
        }),
      );
      const client = setup(server);
      void client.connect();
      server.latest.accept();
      client.send('go').subscribe();
      at(cold, '5ms x', () => client.approve('c1'));
      at(cold, '7ms x', () => client.approve('c2'));
      expectObservable(client.approvals$.pipe(map(ids))).toBe('ab-c-def', {
        a: '',
        b: 'c1',
        c: 'c1,c2',
        d: 'c2',
        e: 'c2,c1',
        f: 'c1',
      });
      flush();
      expect(server.latest.sentOf('tool_approval')).toHaveLength(2);
    });
  });
});

describe('answers across a lost connection (marbles)', () => {
  /** A reply that asks for approval of c1, once (the message sent again after a reconnect is not answered twice). */
  function askOnce(server: FakeServer, cold: TestScheduler['createColdObservable']) {
    let answered = 0;
    server.answer('user_message', ({ id }) =>
      answered++ > 0
        ? []
        : cold('-a', {
            a: makeToolCall(id, { toolCallId: 'c1', toolName: 'send_mail', status: 'approval_required' }, { seq: 1 }),
          }),
    );
  }

  it('sends an approval again after a reconnect when the server had not taken it (the connection died with it)', () => {
    testScheduler().run(({ cold, flush }) => {
      const server = createFakeServer();
      askOnce(server, cold);
      const client = setup(server);
      void client.connect();
      server.latest.accept();
      client.send('go').subscribe();
      at(cold, '3ms x', () => client.approve('c1'));
      at(cold, '5ms x', () => server.latest.fail()); // reconnect at 105
      at(cold, '150ms x', () => server.latest.acceptResume(1));
      flush();
      expect(server.sockets[0]?.sentOf('tool_approval').map((m) => m.data)).toEqual([
        { toolCallId: 'c1', approved: true },
      ]);
      expect(server.latest.sentOf('tool_approval').map((m) => m.data)).toEqual([{ toolCallId: 'c1', approved: true }]);
    });
  });

  it('does not send it again when the replay shows the server took it', () => {
    testScheduler().run(({ cold, flush }) => {
      const server = createFakeServer();
      askOnce(server, cold);
      const client = setup(server);
      void client.connect();
      server.latest.accept();
      client.send('go').subscribe();
      at(cold, '3ms x', () => client.approve('c1'));
      at(cold, '5ms x', () => server.latest.fail());
      at(cold, '150ms x', () => {
        const socket = server.latest;
        socket.accept('fresh-session');
        const resume = socket.resumeRequest!;
        // Replayed before the greeting: the call started, so the approval arrived.
        const requestId = server.sockets[0]!.sentOf('user_message')[0]!.id;
        socket.deliver(
          makeToolCall(requestId, { toolCallId: 'c1', toolName: 'send_mail', status: 'start' }, { seq: 2 }),
        );
        socket.deliver(
          makeSession(resume.data.sessionId, {
            resumeToken: resume.data.resumeToken,
            resumed: true,
            requestId: resume.id,
            lastSeq: 2,
          }),
        );
      });
      flush();
      expect(server.latest.sentOf('tool_approval')).toEqual([]);
    });
  });
});

describe('client tools (marbles)', () => {
  const clock: ClientTool = {
    name: 'get_browser_time',
    description: 'The time here',
    parameters: { type: 'object', properties: {} },
    execute: () => '12:00',
  };

  it('declares the tools on every user_message, without their execute', () => {
    testScheduler().run(({ flush }) => {
      const server = createFakeServer();
      const client = setup(server, { tools: [clock] });
      void client.connect();
      server.latest.accept();
      const one = client.send('one').subscribe();
      client.send('two', { temperature: 0 }).subscribe();
      // The second waits for the first reply (here: until it is left, which aborts it).
      one.unsubscribe();
      flush();
      const declared = server.latest.sentOf('user_message').map((m) => m.data.clientTools);
      expect(declared).toEqual([
        [{ name: 'get_browser_time', description: 'The time here', parameters: { type: 'object', properties: {} } }],
        [{ name: 'get_browser_time', description: 'The time here', parameters: { type: 'object', properties: {} } }],
      ]);
    });
  });

  it("runs a tool the model called for this client's reply: a value, an Observable's last value, or an error", () => {
    testScheduler().run(({ cold, flush }) => {
      const server = createFakeServer();
      const steps: ClientTool = {
        name: 'count',
        description: '',
        parameters: {},
        execute: () => cold('-1-2-(3|)', { 1: 1, 2: 2, 3: 3 }),
      };
      const broken: ClientTool = {
        name: 'broken',
        description: '',
        parameters: {},
        execute: () => {
          throw new Error('no GPS');
        },
      };
      server.answer('user_message', ({ id }) =>
        cold('-a-b-c', {
          a: makeToolCall(id, { toolCallId: 'c1', toolName: 'count', status: 'client_execute' }),
          b: makeToolCall(id, { toolCallId: 'c2', toolName: 'broken', status: 'client_execute' }),
          // A tool this client does not have is not its to answer.
          c: makeToolCall(id, { toolCallId: 'c3', toolName: 'unknown', status: 'client_execute' }),
        }),
      );
      const client = setup(server, { tools: [steps, broken] });
      void client.connect();
      server.latest.accept();
      client.send('go').subscribe();
      flush();
      expect(server.latest.sentOf('tool_result').map((m) => m.data)).toEqual([
        { toolCallId: 'c2', error: 'no GPS' },
        { toolCallId: 'c1', result: 3 },
      ]);
    });
  });

  it('sends a synchronous answer (a value, a boolean) at the frame of the call, and an Observable one on its own schedule', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const server = createFakeServer();
      server.answer('user_message', ({ id }) =>
        cold('-a-b-c', {
          a: makeToolCall(id, { toolCallId: 'c1', toolName: 'get_browser_time', status: 'client_execute' }),
          b: makeToolCall(id, { toolCallId: 'c2', toolName: 'send_mail', status: 'approval_required' }),
          c: makeToolCall(id, { toolCallId: 'c3', toolName: 'pay', status: 'approval_required' }),
        }),
      );
      const client = setup(server, { tools: [clock] });
      // Approves c2 at once; thinks about c3 for 2 ms, then declines.
      client.onToolApproval((request) => (request.toolCallId === 'c2' ? true : cold('--(n|)', { n: false })));
      void client.connect();
      server.latest.accept();
      client.send('go').subscribe();
      const answers = server.received$.pipe(
        filter(({ message }) => message.type === 'tool_result' || message.type === 'tool_approval'),
        map(({ message }) => JSON.stringify(message.data)),
      );
      expectObservable(answers).toBe('-a-b---c', {
        a: JSON.stringify({ toolCallId: 'c1', result: '12:00' }),
        b: JSON.stringify({ toolCallId: 'c2', approved: true }),
        c: JSON.stringify({ toolCallId: 'c3', approved: false }),
      });
    });
  });

  it("resolves a Promise tool, and leaves another client's reply to that client", async () => {
    const server = createFakeServer();
    const execute = jest.fn(async (args: { zone: string }) => `noon in ${args.zone}`);
    const client = setup(server, { tools: [{ ...clock, execute }] });
    void client.connect();
    server.latest.accept();
    server.latest.deliver(
      makeToolCall('someone-else', { toolCallId: 'x', toolName: 'get_browser_time', status: 'client_execute' }),
    );
    const reply = client.sendMessage('go');
    const [message] = server.latest.sentOf('user_message');
    server.latest.deliver(
      makeToolCall(message!.id, {
        toolCallId: 'c1',
        toolName: 'get_browser_time',
        args: { zone: 'UTC' },
        status: 'client_execute',
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(execute).toHaveBeenCalledTimes(1);
    expect(execute).toHaveBeenCalledWith({ zone: 'UTC' }, { toolCallId: 'c1', requestId: message!.id });
    expect(server.latest.sentOf('tool_result').map((m) => m.data)).toEqual([
      { toolCallId: 'c1', result: 'noon in UTC' },
    ]);
    server.latest.deliver(makeComplete(message!.id, 'It is noon.'));
    await expect(reply).resolves.toMatchObject({ fullText: 'It is noon.' });
    client.disconnect();
  });

  it('stops an Observable tool when its reply ends, and sends nothing for it', () => {
    testScheduler().run(({ cold, expectObservable, flush }) => {
      const server = createFakeServer();
      let stopped = 0;
      const slow: ClientTool = {
        name: 'slow',
        description: '',
        parameters: {},
        execute: () => NEVER.pipe(finalize(() => stopped++)),
      };
      server.answer('user_message', ({ id }) =>
        cold('-a-b', {
          a: makeToolCall(id, { toolCallId: 'c1', toolName: 'slow', status: 'client_execute' }),
          b: makeComplete(id, 'gave up'),
        }),
      );
      const client = setup(server, { tools: [slow] });
      void client.connect();
      server.latest.accept();
      expectObservable(client.send('go').pipe(map((event) => event.type))).toBe('-a-(b|)', {
        a: 'tool_call',
        b: 'llm_complete',
      });
      flush();
      expect(stopped).toBe(1);
      expect(server.latest.sentOf('tool_result')).toEqual([]);
    });
  });
});

describe('reasoning (marbles)', () => {
  it('streams reasoning on reasoning$, onReasoningChunk and in send(), apart from the chunks', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const server = createFakeServer();
      server.answer('user_message', ({ id }) =>
        cold('-a-b-c-(d|)', {
          a: makeReasoning(id, 'Hm'),
          b: makeReasoning(id, 'm.'),
          c: makeChunk(id, 'Hi'),
          d: makeComplete(id, 'Hi'),
        }),
      );
      const client = setup(server);
      const pieces: string[] = [];
      client.onReasoningChunk(({ chunk }) => pieces.push(chunk));
      void client.connect();
      server.latest.accept();
      expectObservable(client.reasoning$.pipe(map(({ chunk }) => chunk))).toBe('-a-b', { a: 'Hm', b: 'm.' });
      expectObservable(client.send('hi').pipe(map((event) => event.type))).toBe('-a-b-c-(d|)', {
        a: 'llm_reasoning',
        b: 'llm_reasoning',
        c: 'llm_chunk',
        d: 'llm_complete',
      });
      return () => expect(pieces).toEqual(['Hm', 'm.']);
    });
  });
});
