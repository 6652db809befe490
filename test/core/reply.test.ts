import { BehaviorSubject, NEVER, Observable, Subject } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { UpstreamError } from '../../src/errors';
import type { LLMEvent, LLMRequest } from '../../src/llm/types';
import type { ServerMessageInput } from '../../src/protocol/codecs';
import { createConversation } from '../../src/core/conversation';
import { withoutIds } from '../utils/history';
import { silentLogger } from '../../src/server/logger';
import { type ReplyContext, runReply } from '../../src/core/reply';
import { checkClientTools } from '../../src/tools/client-tools';
import { createToolRegistry, type Tool } from '../../src/tools';

// Marble values: LLM events by letter.
const e = {
  a: { type: 'text', delta: 'Hel' },
  b: { type: 'text', delta: 'lo' },
  c: { type: 'text', delta: '!' },
  s: { type: 'finish', reason: 'stop' },
  u: { type: 'usage', usage: { promptTokens: 3, completionTokens: 2, totalTokens: 5 } },
  t: { type: 'tool_call_delta', index: 0, id: 'call_1', name: 'lookup', argumentsDelta: '{"key":' },
  T: { type: 'tool_call_delta', index: 0, argumentsDelta: '"x"}' },
  v: { type: 'tool_call_delta', index: 1, id: 'call_2', name: 'lookup', argumentsDelta: '{"key":"y"}' },
  f: { type: 'finish', reason: 'tool_calls' },
} satisfies Record<string, LLMEvent>;

const R = 'req1';
const status = (value: string) => ({ type: 'status', data: { status: value, requestId: R } });
const chunk = (text: string, isComplete = false) => ({
  type: 'llm_chunk',
  data: { chunk: text, isComplete, requestId: R },
});
const complete = (fullText: string, finishReason: string, usage?: object) => ({
  type: 'llm_complete',
  // The history ids of the answer and its question are random: their presence is tested apart.
  data: expect.objectContaining({ fullText, requestId: R, finishReason, ...(usage ? { usage } : {}) }),
});
/** The usage of a model call cut off after `deltas` streamed pieces (about a token each). */
const abortedUsage = (deltas: number) => ({
  promptTokens: 0,
  completionTokens: deltas,
  totalTokens: deltas,
  estimated: true,
});
/** The usage of a reply whose model reported none (its numbers are tested with estimateUsage). */
const estimatedUsage = expect.objectContaining({ estimated: true, promptTokens: expect.any(Number) });
const toolCall = (id: string, key: string, state: string) => ({
  type: 'tool_call',
  data: { toolCallId: id, toolName: 'lookup', args: { key }, status: state, requestId: R },
});
const toolResult = (id: string, result: unknown) => ({
  type: 'tool_result',
  data: { toolCallId: id, toolName: 'lookup', requestId: R, result },
});

/** A reply over scripted model rounds (one cold Observable per model call) and one `lookup` tool. */
function setup(
  rounds: Observable<LLMEvent>[],
  options: {
    tool?: (key: string) => Observable<unknown>;
    maxToolSteps?: number;
    idleTimeoutMs?: number;
    abort$?: Observable<unknown>;
    toolNames?: string[];
    limits?: { maxTextBytes: number; maxToolArgumentsBytes: number };
    clientTools?: ReplyContext['clientTools'];
    checkClientTools?: ReplyContext['checkClientTools'];
  } = {},
) {
  const requests: LLMRequest[] = [];
  const conversation = createConversation({ systemPrompt: 'sys' });
  const lookup: Tool = {
    name: 'lookup',
    description: 'looks a key up',
    parameters: { type: 'object', properties: { key: { type: 'string' } }, required: ['key'] },
    execute: ({ key }: { key: string }) => (options.tool ? options.tool(key) : `value of ${key}`),
  };
  const reply$ = runReply({
    requestId: R,
    sessionId: 's1',
    text: 'question',
    options: options.toolNames ? { tools: options.toolNames } : {},
    conversation,
    provider: (request) => {
      requests.push(request);
      const next = rounds.shift();
      if (!next) throw new Error('the test gave no more model rounds');
      return next;
    },
    tools: createToolRegistry([lookup]),
    maxToolSteps: options.maxToolSteps ?? 5,
    idleTimeoutMs: options.idleTimeoutMs ?? 1000,
    abort$: options.abort$ ?? NEVER,
    ...(options.limits ? { limits: options.limits } : {}),
    ...(options.clientTools ? { clientTools: options.clientTools } : {}),
    ...(options.checkClientTools ? { checkClientTools: options.checkClientTools } : {}),
    logger: silentLogger,
  });
  return { reply$, requests, conversation };
}

const newScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

describe('runReply', () => {
  it('streams text: thinking, streaming, chunks, the closing chunk and llm_complete with usage', () => {
    newScheduler().run((helpers) => {
      const model = helpers.cold<LLMEvent>('-a----b----(su|)', e);
      const { reply$, requests, conversation } = setup([model]);
      helpers.expectObservable(reply$).toBe('t(sa)-b----(ec|)', {
        t: status('thinking'),
        s: status('streaming'),
        a: chunk('Hel'),
        b: chunk('lo'),
        e: chunk('', true),
        c: complete('Hello', 'stop', e.u.usage),
      });
      helpers.flush();
      expect(requests[0]?.messages).toEqual([
        { role: 'system', content: 'sys' },
        { role: 'user', content: 'question' },
      ]);
      expect(withoutIds(conversation.messages())).toEqual([
        { role: 'user', content: 'question' },
        { role: 'assistant', content: 'Hello' },
      ]);
    });
  });

  it('is a new reply for each subscription: two subscribers get two independent replies', () => {
    newScheduler().run((helpers) => {
      const first = helpers.cold<LLMEvent>('-a------(s|)', e);
      const second = helpers.cold<LLMEvent>('---b------c------(s|)', e);
      const abort$ = helpers.hot('--------------x');
      const { reply$, requests, conversation } = setup([first, second], { abort$ });
      // The first reply ends before the abort; the second is still streaming when it comes.
      helpers.expectObservable(reply$).toBe('t(sa)---(ec|)', {
        t: status('thinking'),
        s: status('streaming'),
        a: chunk('Hel'),
        e: chunk('', true),
        c: complete('Hel', 'stop', estimatedUsage),
      });
      helpers.expectObservable(reply$).toBe('t--(sb)---c---(ef|)', {
        t: status('thinking'),
        s: status('streaming'),
        b: chunk('lo'),
        c: chunk('!'),
        e: chunk('', true),
        f: complete('lo!', 'aborted', abortedUsage(2)),
      });
      helpers.expectSubscriptions(first.subscriptions).toBe('^-------!');
      helpers.expectSubscriptions(second.subscriptions).toBe('^-------------!');
      helpers.flush();
      expect(requests).toHaveLength(2);
      expect(withoutIds(conversation.messages())).toEqual([
        { role: 'user', content: 'question' },
        { role: 'user', content: 'question' },
        { role: 'assistant', content: 'Hel' },
        { role: 'assistant', content: 'lo!', finishReason: 'aborted' },
      ]);
    });
  });

  it('runs the tool loop: calls, results, then the model again with both in history', () => {
    newScheduler().run((helpers) => {
      const round1 = helpers.cold<LLMEvent>('-tT(f|)', e);
      const round2 = helpers.cold<LLMEvent>('-----a---(s|)', e);
      const tool = helpers.cold('-----r---|', { r: 'found it' });
      const { reply$, requests, conversation } = setup([round1, round2], { tool: () => tool });
      helpers.expectObservable(reply$).toBe('t--(cS)-----(drt)(sa)(ef|)', {
        t: status('thinking'),
        s: status('streaming'),
        c: status('calling_tool'),
        S: toolCall('call_1', 'x', 'start'),
        d: toolCall('call_1', 'x', 'complete'),
        r: toolResult('call_1', 'found it'),
        a: chunk('Hel'),
        e: chunk('', true),
        // Neither call reported usage: both are estimated from what was sent and streamed.
        f: complete('Hel', 'stop', estimatedUsage),
      });
      helpers.flush();
      helpers.expectSubscriptions(round1.subscriptions).toBe('^--!');
      helpers.expectSubscriptions(tool.subscriptions).toBe('---^--------!');
      expect(requests).toHaveLength(2);
      expect(requests[0]?.options.toolChoice).toBe('auto');
      expect(requests[1]?.messages.slice(2)).toEqual([
        { role: 'assistant', content: '', toolCalls: [{ id: 'call_1', name: 'lookup', arguments: '{"key":"x"}' }] },
        { role: 'tool', content: 'found it', toolCallId: 'call_1', toolName: 'lookup' },
      ]);
      expect(withoutIds(conversation.messages())).toHaveLength(4);
    });
  });

  it('runs parallel tool calls together and keeps history in call order whatever order they finish in', () => {
    newScheduler().run((helpers) => {
      const round1 = helpers.cold<LLMEvent>('(tTvf|)', e);
      const round2 = helpers.cold<LLMEvent>('(s|)', e);
      const slow = helpers.cold('----x|', { x: 'slow' });
      const fast = helpers.cold('-y|', { y: 'fast' });
      const { reply$, requests } = setup([round1, round2], { tool: (key) => (key === 'x' ? slow : fast) });
      const frames: ServerMessageInput[] = [];
      reply$.subscribe((message) => frames.push(message));
      helpers.flush();
      const results = frames.filter((m) => m.type === 'tool_result').map((m) => (m.data as { result: unknown }).result);
      expect(results).toEqual(['fast', 'slow']);
      expect(requests[1]?.messages.slice(3).map((m) => m.toolCallId)).toEqual(['call_1', 'call_2']);
    });
  });

  it('aborts: cancels the model stream at once, ends with the partial text, keeps it in history marked aborted', () => {
    newScheduler().run((helpers) => {
      const model = helpers.cold<LLMEvent>('-a----b----c-(s|)', e);
      const abort$ = helpers.hot('--------x');
      const { reply$, conversation } = setup([model], { abort$ });
      helpers.expectObservable(reply$).toBe('t(sa)-b-(ec|)', {
        t: status('thinking'),
        s: status('streaming'),
        a: chunk('Hel'),
        b: chunk('lo'),
        e: chunk('', true),
        c: complete('Hello', 'aborted', abortedUsage(2)),
      });
      helpers.expectSubscriptions(model.subscriptions).toBe('^-------!');
      helpers.flush();
      expect(withoutIds(conversation.messages())).toEqual([
        { role: 'user', content: 'question' },
        { role: 'assistant', content: 'Hello', finishReason: 'aborted' },
      ]);
    });
  });

  it('ends aborted at once, without calling the model, when the abort came before the reply started', () => {
    newScheduler().run((helpers) => {
      const model = helpers.cold<LLMEvent>('-a-(s|)', e);
      const abort$ = new BehaviorSubject<void>(undefined); // has fired already: emits as it is subscribed
      const { reply$, conversation } = setup([model], { abort$ });
      helpers.expectObservable(reply$).toBe('(ec|)', {
        e: chunk('', true),
        c: complete('', 'aborted'),
      });
      helpers.expectSubscriptions(model.subscriptions).toBe([]);
      helpers.flush();
      expect(withoutIds(conversation.messages())).toEqual([{ role: 'user', content: 'question' }]);
    });
  });

  it("ends with only what went out when the abort comes from a synchronous model's first chunk", () => {
    const abort$ = new Subject<void>();
    let unsubscribed = false;
    const model = new Observable<LLMEvent>((subscriber) => {
      // A model that emits as it is subscribed: the reply cannot stop it before it returns.
      for (const event of [e.a, e.b, e.s] as LLMEvent[]) subscriber.next(event);
      return () => (unsubscribed = true);
    });
    const { reply$, conversation } = setup([model], { abort$ });
    const frames: ServerMessageInput[] = [];
    reply$.subscribe((frame) => {
      frames.push(frame);
      if (frame.type === 'llm_chunk' && frame.data.chunk === 'Hel') abort$.next();
    });
    expect(unsubscribed).toBe(true);
    expect(frames.map((frame) => frame.type)).toEqual(['status', 'status', 'llm_chunk', 'llm_chunk', 'llm_complete']);
    expect(frames.at(-1)).toEqual(complete('Hel', 'aborted', expect.anything()));
    expect(withoutIds(conversation.messages()).at(-1)).toEqual({
      role: 'assistant',
      content: 'Hel',
      finishReason: 'aborted',
    });
  });

  it('aborts a running tool, and leaves no unanswered tool call in history', () => {
    newScheduler().run((helpers) => {
      const round1 = helpers.cold<LLMEvent>('-(tTf|)', e);
      const tool = helpers.cold('------r|', { r: 'late' });
      const abort$ = helpers.hot('------x');
      const { reply$, conversation } = setup([round1], { tool: () => tool, abort$ });
      helpers.expectObservable(reply$).toBe('t(cs)-(ef|)', {
        t: status('thinking'),
        c: status('calling_tool'),
        s: toolCall('call_1', 'x', 'start'),
        e: chunk('', true),
        // The finished model call reported no usage: estimated.
        f: complete('', 'aborted', estimatedUsage),
      });
      helpers.expectSubscriptions(tool.subscriptions).toBe('-^----!');
      helpers.flush();
      expect(withoutIds(conversation.messages())).toEqual([{ role: 'user', content: 'question' }]);
    });
  });

  it('fails with upstream_timeout when the model goes silent for the idle timeout, and cancels it', () => {
    newScheduler().run((helpers) => {
      const model = helpers.cold<LLMEvent>('-a------------b', e);
      const { reply$ } = setup([model], { idleTimeoutMs: 5 });
      helpers.expectObservable(reply$).toBe('t(sa)-(x|)', {
        t: status('thinking'),
        s: status('streaming'),
        a: chunk('Hel'),
        x: {
          type: 'error',
          data: { code: 'upstream_timeout', message: 'the model sent nothing for 5 ms', retryable: true, requestId: R },
        },
      });
      helpers.expectSubscriptions(model.subscriptions).toBe('^-----!');
    });
  });

  describe('limits', () => {
    const tooLarge = (what: string, limit: number) => ({
      type: 'error',
      data: {
        code: 'reply_too_large',
        message: `the model's reply passed this server's limit: ${what} over ${limit} bytes; the reply was stopped`,
        retryable: false,
        requestId: R,
      },
    });

    it('ends the reply with reply_too_large at the text that would pass maxTextBytes, cancels the model, keeps no partial text', () => {
      newScheduler().run((helpers) => {
        // 'Hel' + 'lo' = 5 bytes fit; the '!' would make 6.
        const model = helpers.cold<LLMEvent>('-a-----b-----c-----s|', e);
        const { reply$, conversation, requests } = setup([model], {
          limits: { maxTextBytes: 5, maxToolArgumentsBytes: 100 },
        });
        helpers.expectObservable(reply$).toBe('t(sa)--b-----(x|)', {
          t: status('thinking'),
          s: status('streaming'),
          a: chunk('Hel'),
          b: chunk('lo'),
          x: tooLarge('the text', 5),
        });
        helpers.expectSubscriptions(model.subscriptions).toBe('^------------!');
        helpers.flush();
        expect(withoutIds(conversation.messages())).toEqual([{ role: 'user', content: 'question' }]);
        expect(requests[0]?.limits).toEqual({ maxTextBytes: 5, maxToolArgumentsBytes: 100 });
      });
    });

    it('counts the text of every model call of the reply', () => {
      newScheduler().run((helpers) => {
        const first = helpers.cold<LLMEvent>('-a-t-T-f|', e);
        const second = helpers.cold<LLMEvent>('-b-c-s|', e);
        // 'Hel' in the first call, 'lo' in the second: 5 bytes; '!' passes 5.
        const { reply$ } = setup([first, second], { limits: { maxTextBytes: 5, maxToolArgumentsBytes: 100 } });
        const messages: ServerMessageInput[] = [];
        reply$.subscribe((message) => messages.push(message));
        helpers.flush();
        expect(messages[messages.length - 1]).toEqual(tooLarge('the text', 5));
        expect(messages.filter((m) => m.type === 'tool_result')).toHaveLength(1);
        expect(second.subscriptions).toHaveLength(1);
        expect(second.subscriptions[0]?.unsubscribedFrame).toBe(
          (second.subscriptions[0]?.subscribedFrame as number) + 3,
        );
      });
    });

    it("ends the reply when one tool call's arguments pass maxToolArgumentsBytes, before any tool runs", () => {
      newScheduler().run((helpers) => {
        // '{"key":' is 7 bytes; with '"x"}' the arguments of call 0 would be 11.
        const model = helpers.cold<LLMEvent>('-t-T-f|', e);
        const { reply$, conversation } = setup([model], { limits: { maxTextBytes: 100, maxToolArgumentsBytes: 10 } });
        helpers.expectObservable(reply$).toBe('t--(x|)', {
          t: status('thinking'),
          x: tooLarge('the arguments of tool call 0', 10),
        });
        helpers.expectSubscriptions(model.subscriptions).toBe('^--!');
        helpers.flush();
        expect(withoutIds(conversation.messages())).toEqual([{ role: 'user', content: 'question' }]);
      });
    });

    it('counts each tool call on its own', () => {
      newScheduler().run((helpers) => {
        // Calls 0 and 1 have 11 bytes each: within 11 apiece, though 22 together.
        const model = helpers.cold<LLMEvent>('-t-T-v-f|', e);
        const { reply$ } = setup([model, helpers.cold<LLMEvent>('-(cs|)', e)], {
          limits: { maxTextBytes: 100, maxToolArgumentsBytes: 11 },
        });
        const messages: ServerMessageInput[] = [];
        reply$.subscribe((message) => messages.push(message));
        helpers.flush();
        expect(messages[messages.length - 1]).toMatchObject({
          type: 'llm_complete',
          data: { fullText: '!', finishReason: 'stop' },
        });
      });
    });

    it('turns a throw while handling an event into an error message instead of an unhandled error', () => {
      newScheduler().run((helpers) => {
        const poisoned = {
          type: 'text',
          get delta(): string {
            throw new RangeError('Invalid string length');
          },
        } as unknown as LLMEvent;
        const model = helpers.cold<LLMEvent>('-a-----p-s|', { ...e, p: poisoned });
        const { reply$ } = setup([model]);
        helpers.expectObservable(reply$).toBe('t(sa)--(x|)', {
          t: status('thinking'),
          s: status('streaming'),
          a: chunk('Hel'),
          x: {
            type: 'error',
            data: { code: 'internal_error', message: 'the server failed to answer', retryable: true, requestId: R },
          },
        });
        helpers.expectSubscriptions(model.subscriptions).toBe('^------!');
      });
    });
  });

  it('passes on how long the endpoint asked to wait', () => {
    newScheduler().run((helpers) => {
      const failure = new UpstreamError('rate_limited', 'slow down', {
        retryable: true,
        status: 429,
        retryAfterMs: 20_000,
      });
      const { reply$ } = setup([helpers.cold<LLMEvent>('-#', e, failure)]);
      helpers.expectObservable(reply$).toBe('t(x|)', {
        t: status('thinking'),
        x: {
          type: 'error',
          data: { code: 'rate_limited', message: 'slow down', retryable: true, retryAfterMs: 20_000, requestId: R },
        },
      });
    });
  });

  it('turns an upstream failure into an error message that says whether to retry', () => {
    newScheduler().run((helpers) => {
      const failure = new UpstreamError('upstream_error', 'the model endpoint answered 500: boom', {
        retryable: true,
        status: 500,
      });
      const model = helpers.cold<LLMEvent>('-a----#', e, failure);
      const { reply$ } = setup([model]);
      helpers.expectObservable(reply$).toBe('t(sa)-(x|)', {
        t: status('thinking'),
        s: status('streaming'),
        a: chunk('Hel'),
        x: {
          type: 'error',
          data: {
            code: 'upstream_error',
            message: 'the model endpoint answered 500: boom',
            retryable: true,
            requestId: R,
          },
        },
      });
    });
  });

  it('treats a stream that ends without a finish reason as cut off', () => {
    newScheduler().run((helpers) => {
      const { reply$ } = setup([helpers.cold<LLMEvent>('-a----|', e)]);
      helpers.expectObservable(reply$).toBe('t(sa)-(x|)', {
        t: status('thinking'),
        s: status('streaming'),
        a: chunk('Hel'),
        x: {
          type: 'error',
          data: {
            code: 'upstream_error',
            message: 'the model stream ended before the model finished',
            retryable: true,
            requestId: R,
          },
        },
      });
    });
  });

  it('forbids tools on the last round, and ends with length if the model still asks for one', () => {
    newScheduler().run((helpers) => {
      const round1 = helpers.cold<LLMEvent>('(tTf|)', e);
      const round2 = helpers.cold<LLMEvent>('(vf|)', e);
      const { reply$, requests } = setup([round1, round2], { maxToolSteps: 1 });
      const frames: ServerMessageInput[] = [];
      reply$.subscribe((message) => frames.push(message));
      helpers.flush();
      expect(requests.map((r) => r.options.toolChoice)).toEqual(['auto', 'none']);
      expect(frames[frames.length - 1]).toEqual(complete('', 'length', estimatedUsage));
      expect(
        frames.filter((m) => m.type === 'tool_call' && (m.data as { status: string }).status === 'start'),
      ).toHaveLength(1);
    });
  });

  it('refuses unknown tools before calling the model or touching history', () => {
    newScheduler().run((helpers) => {
      const { reply$, requests, conversation } = setup([], { toolNames: ['lookup', 'nuke'] });
      helpers.expectObservable(reply$).toBe('(x|)', {
        x: {
          type: 'error',
          data: {
            code: 'unknown_tool',
            message: 'no such tool: nuke; this server has lookup',
            retryable: false,
            requestId: R,
          },
        },
      });
      helpers.flush();
      expect(requests).toHaveLength(0);
      expect(withoutIds(conversation.messages())).toEqual([]);
    });
  });

  describe('client tools', () => {
    const clock = { name: 'browser_time', description: 'the time here', parameters: { type: 'object' } };
    const refused = (message: string) => ({
      type: 'error',
      data: { code: 'invalid_client_tools', message, retryable: false, requestId: R },
    });

    it('offers the declared client tools, as the injected check makes them, beside the server tools', () => {
      newScheduler().run((helpers) => {
        const model = helpers.cold<LLMEvent>('-(s|)', e);
        const { reply$, requests } = setup([model], { clientTools: [clock], checkClientTools });
        helpers.expectObservable(reply$).toBe('t(ec|)', {
          t: status('thinking'),
          e: chunk('', true),
          c: complete('', 'stop', estimatedUsage),
        });
        helpers.flush();
        expect(requests[0]?.tools.map((tool) => tool.name)).toEqual(['lookup', 'browser_time']);
      });
    });

    it('refuses them, before calling the model or touching history, when the check does or none is given', () => {
      newScheduler().run((helpers) => {
        const refusing = setup([], { clientTools: [{ ...clock, name: 'lookup' }], checkClientTools });
        helpers.expectObservable(refusing.reply$).toBe('(x|)', {
          x: refused("client tool lookup has the name of one of this server's tools"),
        });
        const unchecked = setup([], { clientTools: [clock] });
        helpers.expectObservable(unchecked.reply$).toBe('(x|)', { x: refused('this server takes no client tools') });
        helpers.flush();
        for (const { requests, conversation } of [refusing, unchecked]) {
          expect(requests).toHaveLength(0);
          expect(conversation.messages()).toEqual([]);
        }
      });
    });
  });

  it('offers only the tools the message names', () => {
    newScheduler().run((helpers) => {
      const { reply$, requests } = setup([helpers.cold<LLMEvent>('(s|)', e)], { toolNames: [] });
      reply$.subscribe();
      helpers.flush();
      expect(requests[0]?.tools).toEqual([]);
      expect(requests[0]?.options.toolChoice).toBeUndefined();
    });
  });
});
