import type { LLMEvent } from '../../src/llm/types';
import { control, e, greetingOf, harness, newScheduler, userMessage } from '../utils/session-harness';
import { withoutIds } from '../utils/history';

describe('session and connection', () => {
  it('greets with the session id and a resume token, and numbers the stream from 1 (greeting and pongs aside)', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold }) => {
      const { connect } = harness(scheduler, [cold<LLMEvent>('-a-(s|)', e)]);
      const { transport, at } = connect();
      at(1, userMessage('q1'));
      at(10, { type: 'ping', id: 'p1' });
      scheduler.flush();
      const greeting = greetingOf(transport);
      expect(greeting.data.resumeToken).toMatch(/^[\w-]{43}$/); // 256 bits, base64url
      expect(greeting.seq).toBeUndefined();
      const seqs = transport.frames.map(({ message }) => message.seq).filter((seq) => seq !== undefined);
      expect(seqs).toEqual(seqs.map((_, i) => i + 1));
      const pong = transport.frames[transport.frames.length - 1]?.message;
      expect(pong).toMatchObject({ type: 'pong', data: { requestId: 'p1' } });
      expect(pong?.seq).toBeUndefined();
      const ids = transport.frames.map(({ message }) => message.id);
      expect(new Set(ids).size).toBe(ids.length);
    });
  });

  it('holds chunks while paused and releases them in order on resume', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold }) => {
      const { connect } = harness(scheduler, [cold<LLMEvent>('-a-b-c-(s|)', e)]);
      const { transport, at } = connect();
      at(0, userMessage('q1'));
      at(2, control('c1', 'pause'));
      at(6, control('c2', 'get_status'));
      at(10, control('c3', 'resume'));
      scheduler.flush();
      expect(transport.log()).toEqual([
        '0 session',
        '0 status thinking q1 #1',
        '1 status streaming q1 #2',
        '1 llm_chunk one  q1 #3',
        '2 status paused c1 #4',
        // A question's answer is its connection's alone: no seq, not in the stream.
        '6 status paused c2',
        '10 llm_chunk two  q1 #5',
        '10 llm_chunk three q1 #6',
        '10 llm_chunk  q1 #7',
        '10 llm_complete stop q1 #8',
        '10 status idle q1 #9',
        '10 status idle c3 #10',
      ]);
    });
  });

  it('aborts a paused reply: held chunks first, then the aborted ending with estimated usage, and the upstream is cancelled', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold, expectSubscriptions }) => {
      const model = cold<LLMEvent>('-a-b-c-(s|)', e);
      const { connect } = harness(scheduler, [model]);
      const { transport, at } = connect();
      at(0, userMessage('q1'));
      at(2, control('c1', 'pause'));
      at(4, control('c2', 'abort', 'q1'));
      scheduler.flush();
      expectSubscriptions(model.subscriptions).toBe('^---!');
      expect(transport.log().slice(4)).toEqual([
        '2 status paused c1 #4',
        '4 llm_chunk two  q1 #5',
        '4 llm_chunk  q1 #6',
        '4 llm_complete aborted q1 #7',
        '4 status idle q1 #8',
        '4 status idle c2 #9',
      ]);
      expect(transport.frames.find(({ message }) => message.type === 'llm_complete')?.message.data).toMatchObject({
        fullText: 'one two ',
        usage: { promptTokens: 0, completionTokens: 2, totalTokens: 2, estimated: true },
      });
    });
  });

  it('ignores an abort aimed at another reply', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold, expectSubscriptions }) => {
      const model = cold<LLMEvent>('-a-b-(s|)', e);
      const { connect } = harness(scheduler, [model]);
      const { transport, at } = connect();
      at(0, userMessage('q2'));
      at(2, control('c1', 'abort', 'q1'));
      scheduler.flush();
      expectSubscriptions(model.subscriptions).toBe('^----!');
      expect(transport.log()).toContain('5 llm_complete stop q2 #7');
    });
  });

  it("concurrentMessages 'reject': refuses a second user_message while a reply runs with busy, and a text over maxMessageLength, outside the stream", () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold }) => {
      const { connect } = harness(scheduler, [cold<LLMEvent>('-a-(s|)', e), cold<LLMEvent>('-b-(s|)', e)], {
        concurrentMessages: 'reject',
      });
      const { transport, at } = connect();
      at(0, userMessage('q1'));
      at(1, userMessage('q2'));
      at(2, control('c1', 'clear_history'));
      at(5, userMessage('long', 'x'.repeat(51)));
      at(6, userMessage('q3'));
      scheduler.flush();
      const log = transport.log();
      // Refusals answer the sender alone: no seq, no place in the stream.
      expect(log).toContain('1 error busy q2');
      expect(log).toContain('2 error busy c1');
      expect(log).toContain('5 error message_too_long long');
      expect(log.some((line) => line.startsWith('9 llm_complete stop q3'))).toBe(true);
    });
  });

  it('starts no second model request for a user_message id it has seen (a resend after a reconnect)', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold }) => {
      const { connect, requests } = harness(scheduler, [cold<LLMEvent>('-a-(s|)', e)]);
      const { transport, at } = connect();
      at(0, userMessage('q1'));
      at(1, userMessage('q1'));
      at(9, userMessage('q1'));
      scheduler.flush();
      expect(requests).toHaveLength(1);
      expect(transport.log().filter((line) => line.includes('error'))).toEqual([]);
    });
  });

  it('answers history controls with the history', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold }) => {
      const { connect } = harness(scheduler, [cold<LLMEvent>('-a-(s|)', e)]);
      const { transport, at } = connect();
      at(0, userMessage('q1', 'hello'));
      at(5, control('h1', 'get_history'));
      at(6, control('h2', 'clear_history'));
      at(7, control('h3', 'get_history'));
      scheduler.flush();
      const histories = transport.frames.flatMap(({ message }) =>
        message.type === 'history' ? [{ ...message.data, messages: withoutIds(message.data.messages) }] : [],
      );
      // The conversation's usage so far (the model reported none: estimated) stays after a clear.
      const usage = { promptTokens: 2, completionTokens: 1, totalTokens: 3, estimated: true };
      expect(histories).toEqual([
        {
          messages: [
            { role: 'user', content: 'hello' },
            { role: 'assistant', content: 'one ' },
          ],
          requestId: 'h1',
          usage,
        },
        { messages: [], requestId: 'h2', usage },
        { messages: [], requestId: 'h3', usage },
      ]);
    });
  });

  it('rewinds the last turn (regenerate): the last user message and its reply go, refused with busy while a reply runs', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold }) => {
      const { connect } = harness(scheduler, [cold<LLMEvent>('-a-(s|)', e), cold<LLMEvent>('-b-(s|)', e)]);
      const { transport, at } = connect();
      at(0, userMessage('q1', 'first'));
      at(1, control('r0', 'rewind'));
      at(5, userMessage('q2', 'second'));
      at(9, control('r1', 'rewind'));
      at(10, control('r2', 'rewind'));
      at(11, control('r3', 'rewind'));
      scheduler.flush();
      expect(transport.log()).toContain('1 error busy r0');
      const histories = transport.frames.flatMap(({ message }) =>
        message.type === 'history' ? [{ ...message.data, messages: withoutIds(message.data.messages) }] : [],
      );
      // Both replies' usage (estimated): a rewind does not take back what was spent.
      const usage = { promptTokens: 6, completionTokens: 2, totalTokens: 8, estimated: true };
      expect(histories).toEqual([
        {
          messages: [
            { role: 'user', content: 'first' },
            { role: 'assistant', content: 'one ' },
          ],
          requestId: 'r1',
          usage,
        },
        { messages: [], requestId: 'r2', usage },
        { messages: [], requestId: 'r3', usage },
      ]);
    });
  });

  it.each<[string, string | Buffer, boolean, object]>([
    ['not JSON', 'hello?', false, { code: 'invalid_json', retryable: false }],
    [
      'a wrong shape',
      JSON.stringify({ type: 'user_message', id: 'x1', data: { text: 42 } }),
      false,
      { code: 'invalid_message', message: 'data.text: expected string, got 42', requestId: 'x1' },
    ],
    ['an unknown type', JSON.stringify({ type: 'sudo', id: 'x2' }), false, { code: 'unknown_type', requestId: 'x2' }],
    ['a binary frame', Buffer.from([1, 2, 3]), true, { code: 'unsupported_frame', retryable: false }],
  ])('answers %s with an error and keeps serving', (_name, frame, isBinary, expected) => {
    const scheduler = newScheduler();
    scheduler.run(({ cold }) => {
      const { connect } = harness(scheduler, [cold<LLMEvent>('(as|)', e)]);
      const { transport, connection } = connect();
      connection.receive(frame, isBinary);
      connection.receive(JSON.stringify(userMessage('ok')), false);
      scheduler.flush();
      expect(transport.frames[1]?.message).toMatchObject({ type: 'error', data: expected });
      expect(transport.frames[transport.frames.length - 2]?.message).toMatchObject({
        type: 'llm_complete',
        data: { requestId: 'ok', fullText: 'one ' },
      });
    });
  });

  it('answers frames over the rate limit with rate_limited (retryable), naming the request', () => {
    const scheduler = newScheduler();
    scheduler.run(() => {
      const { connect } = harness(scheduler);
      const { transport, connection } = connect({ ratePerSecond: 1, burst: 2 });
      for (const id of ['g1', 'g2', 'g3']) connection.receive(JSON.stringify(control(id, 'get_status')), false);
      const errors = transport.frames
        .filter(({ message }) => message.type === 'error')
        .map(({ message }) => message.data);
      expect(errors).toEqual([
        {
          code: 'rate_limited',
          message: 'more than 1 messages a second (bursts of 2): slow down',
          retryable: true,
          requestId: 'g3',
          // When the next token comes (1 a second, none left): the real clock may have moved a little.
          retryAfterMs: expect.any(Number),
        },
      ]);
      const [refused] = errors as Array<{ retryAfterMs: number }>;
      expect(refused?.retryAfterMs).toBeGreaterThan(900);
      expect(refused?.retryAfterMs).toBeLessThanOrEqual(1000);
    });
  });

  describe('resume', () => {
    it('keeps the reply running without a connection, then replays what was missed and goes on live', () => {
      const scheduler = newScheduler();
      scheduler.run(({ cold, expectSubscriptions }) => {
        const model = cold<LLMEvent>('-a---b---c--(s|)', e);
        const { connect, requests } = harness(scheduler, [model]);
        const first = connect();
        first.at(0, userMessage('q1'));
        scheduler.schedule(() => first.connection.closed(1006, ''), 3);
        let second: ReturnType<typeof connect> | undefined;
        scheduler.schedule(() => {
          second = connect();
          const { sessionId, resumeToken } = greetingOf(first.transport).data;
          second.connection.receive(
            JSON.stringify({ type: 'resume', id: 'r1', data: { sessionId, resumeToken, lastSeq: 3 } }),
            false,
          );
        }, 7);
        scheduler.flush();
        expectSubscriptions(model.subscriptions).toBe('^-----------!');
        expect(requests).toHaveLength(1);
        expect(first.transport.log()).toEqual([
          '0 session',
          '0 status thinking q1 #1',
          '1 status streaming q1 #2',
          '1 llm_chunk one  q1 #3',
        ]);
        expect(second?.transport.log()).toEqual([
          '7 session', // the fresh greeting, before the resume is read
          '7 llm_chunk two  q1 #4', // replayed
          '7 session  r1', // resumed: true
          '9 llm_chunk three q1 #5', // live
          '12 llm_chunk  q1 #6',
          '12 llm_complete stop q1 #7',
          '12 status idle q1 #8',
        ]);
        expect(second?.transport.frames[2]?.message.data).toMatchObject({
          resumed: true,
          lastSeq: 4,
          sessionId: greetingOf(first.transport).data.sessionId,
        });
      });
    });

    it('cancels instead when the message asked for onDisconnect: cancel', () => {
      const scheduler = newScheduler();
      scheduler.run(({ cold, expectSubscriptions }) => {
        const model = cold<LLMEvent>('-a---b---(s|)', e);
        const { connect } = harness(scheduler, [model]);
        const first = connect();
        first.at(0, userMessage('q1', 'hi', { onDisconnect: 'cancel' }));
        scheduler.schedule(() => first.connection.closed(1006, ''), 3);
        scheduler.flush();
        expectSubscriptions(model.subscriptions).toBe('^--!');
      });
    });

    it('takes the session over from a connection the server still thinks is open (4409 to the old one)', () => {
      const scheduler = newScheduler();
      scheduler.run(() => {
        const { connect } = harness(scheduler);
        const first = connect();
        // A frame of the stream (a pause with no reply running is answered in it), so there is something to resume.
        first.connection.receive(JSON.stringify(control('g', 'pause')), false);
        const { sessionId, resumeToken } = greetingOf(first.transport).data;
        const second = connect();
        second.connection.receive(
          JSON.stringify({ type: 'resume', id: 'r', data: { sessionId, resumeToken, lastSeq: 1 } }),
          false,
        );
        expect(first.transport.closedWith).toEqual({
          code: 4409,
          reason: 'the session was resumed on another connection',
        });
        expect(second.connection.session.id).toBe(sessionId);
        first.connection.closed(1006, ''); // the old socket's close arrives late: the session stays with the new one
        expect(second.connection.session.attached).toBe(true);
      });
    });

    it('refuses a wrong resume token with close 4403, and leaves the session alone', () => {
      const scheduler = newScheduler();
      scheduler.run(() => {
        const { connect, registry } = harness(scheduler);
        const first = connect();
        first.connection.receive(JSON.stringify(control('g', 'get_status')), false);
        const { sessionId } = greetingOf(first.transport).data;
        const thief = connect();
        thief.connection.receive(
          JSON.stringify({ type: 'resume', id: 'r', data: { sessionId, resumeToken: 'guess', lastSeq: 0 } }),
          false,
        );
        expect(thief.transport.closedWith).toEqual({ code: 4403, reason: 'wrong resume token' });
        expect(registry.get(sessionId)?.attached).toBe(true);
        expect(first.transport.closedWith).toBeUndefined();
      });
    });

    it.each<[string, number, string]>([
      ['an unknown session', 0, 'session_lost'],
      ['a lastSeq the replay buffer no longer holds', 0, 'resume_gap'],
    ])('answers a resume of %s with an error, and the fresh session carries on', (name, lastSeq, code) => {
      const scheduler = newScheduler();
      scheduler.run(() => {
        const { connect } = harness(scheduler, [], { replay: { maxMessages: 2, maxBytes: 100_000 } });
        const first = connect();
        for (const id of ['g1', 'g2', 'g3']) first.connection.receive(JSON.stringify(control(id, 'pause')), false);
        const { sessionId, resumeToken } = greetingOf(first.transport).data;
        const second = connect();
        const target = name === 'an unknown session' ? 'no-such-session' : sessionId;
        second.connection.receive(
          JSON.stringify({ type: 'resume', id: 'r', data: { sessionId: target, resumeToken, lastSeq } }),
          false,
        );
        expect(second.transport.frames[1]?.message).toMatchObject({
          type: 'error',
          data: { code, retryable: false, requestId: 'r' },
        });
        expect(second.transport.frames[1]?.message.seq).toBeUndefined();
        expect(second.connection.session.id).toBe(greetingOf(second.transport).data.sessionId);
      });
    });

    it('refuses a resume that is not the first message on its connection', () => {
      const scheduler = newScheduler();
      scheduler.run(() => {
        const { connect } = harness(scheduler);
        const { transport, connection } = connect();
        connection.receive(JSON.stringify(control('g', 'get_status')), false);
        connection.receive(
          JSON.stringify({ type: 'resume', id: 'r', data: { sessionId: 'x', resumeToken: 'y', lastSeq: 0 } }),
          false,
        );
        expect(transport.frames[2]?.message).toMatchObject({
          type: 'error',
          data: { code: 'invalid_message', message: 'resume must be the first message on a connection' },
        });
      });
    });

    it('drops from the replay buffer what a ping acknowledged', () => {
      const scheduler = newScheduler();
      scheduler.run(() => {
        const { connect } = harness(scheduler);
        const { connection } = connect();
        for (const id of ['g1', 'g2', 'g3']) connection.receive(JSON.stringify(control(id, 'pause')), false);
        connection.receive(JSON.stringify({ type: 'ping', id: 'p', data: { lastSeq: 2 } }), false);
        expect(connection.session.replaySince(2)).toEqual({ frames: [expect.stringContaining('"seq":3')] });
        expect(connection.session.replaySince(1)).toEqual({ gap: { oldestHeld: 3 } });
      });
    });
  });

  describe('a failure inside the server', () => {
    it('ends the reply, not the process, when writing one of its frames throws', () => {
      const scheduler = newScheduler();
      scheduler.run(({ cold }) => {
        const { connect } = harness(scheduler, [cold<LLMEvent>('-a-b-(s|)', e), cold<LLMEvent>('-(cs|)', e)]);
        const { transport, at, connection } = connect();
        const send = transport.send;
        transport.send = (text: string): void => {
          if (text.includes('"chunk":"two "')) throw new RangeError('Invalid string length');
          send(text);
        };
        at(0, userMessage('q1'));
        at(20, userMessage('q2'));
        scheduler.flush(); // an unhandled error would be thrown here, from RxJS's reporting
        expect(
          transport
            .log()
            .filter((line) => line.includes('q1'))
            .map((line) => line.replace(/ #\d+$/, '')),
        ).toEqual([
          '0 status thinking q1',
          '1 status streaming q1',
          '1 llm_chunk one  q1',
          '3 error internal_error q1',
          '3 status idle q1',
        ]);
        expect(connection.session.busy).toBe(false);
        // The session goes on.
        expect(
          transport
            .log()
            .filter((line) => line.includes('q2'))
            .some((line) => line.includes('llm_complete stop')),
        ).toBe(true);
      });
    });
  });

  describe('backpressure', () => {
    it('coalesces chunks and holds the model stream while the connection is over its high-water mark', () => {
      const scheduler = newScheduler();
      scheduler.run(({ cold }) => {
        const model = cold<LLMEvent>(`-a-b-c${'-'.repeat(44)}(s|)`, e);
        const { connect, requests } = harness(scheduler, [model]);
        const { transport, at } = connect();
        at(0, userMessage('q1'));
        scheduler.schedule(() => (transport.buffered = 2000), 2);
        scheduler.schedule(() => (transport.buffered = 0), 40);
        scheduler.flush();
        // The provider is asked to wait while congested.
        expect(requests[0]?.whenWritable).toBeDefined();
        const chunks = transport.frames
          .filter(({ message }) => message.type === 'llm_chunk')
          .map(({ at: time, message }) => [time, (message.data as { chunk: string }).chunk]);
        expect(chunks).toEqual([
          [1, 'one '],
          [40, 'two three'], // coalesced while congested, sent when the connection signals its drain at 40
          [50, ''],
        ]);
      });
    });

    it('closes a connection past the hard limit with 4408 and keeps the session for a resume', () => {
      const scheduler = newScheduler();
      scheduler.run(({ cold }) => {
        const { connect, registry } = harness(scheduler, [cold<LLMEvent>('-a-b-(s|)', e)]);
        const { transport, at, connection } = connect();
        at(0, userMessage('q1'));
        scheduler.schedule(() => (transport.buffered = 6000), 2);
        // The socket's close event follows the close, and detaches the session.
        scheduler.schedule(() => transport.closedWith && connection.closed(1006, ''), 6);
        scheduler.flush();
        expect(transport.closedWith).toEqual({
          code: 4408,
          reason: 'client too slow: send buffer over its hard limit',
        });
        expect(connection.session.attached).toBe(false);
        expect(registry.get(connection.session.id)).toBeDefined();
      });
    });
  });
});
