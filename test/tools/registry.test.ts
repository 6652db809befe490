import * as t from 'io-ts';
import { firstValueFrom, map, NEVER, timer } from 'rxjs';
import { createToolRegistry, defineTool, jsonSchemaOf, type Tool, type ToolOutcome } from '../../src/tools';
import { MAX_TOOL_ERROR_LENGTH } from '../../src/tools/registry';

const context = { sessionId: 's1', requestId: 'r1' };
const call = (name: string, args: unknown, id = 'call_1') => ({
  id,
  name,
  arguments: typeof args === 'string' ? args : JSON.stringify(args),
});
const run = (tools: Tool[], name: string, args: unknown): Promise<ToolOutcome> =>
  firstValueFrom(createToolRegistry(tools).execute(call(name, args), context));

const add = defineTool({
  name: 'add',
  description: 'adds two numbers',
  parameters: t.strict({ a: t.number, b: t.number }),
  execute: ({ a, b }) => a + b,
});

const greet: Tool = {
  name: 'greet',
  description: 'greets someone',
  parameters: {
    type: 'object',
    properties: { name: { type: 'string', minLength: 1 } },
    required: ['name'],
    additionalProperties: false,
  },
  execute: async (args: { name: string }) => `hello ${args.name}`,
};

describe('createToolRegistry', () => {
  it('offers each tool to the model with a JSON Schema, derived from an io-ts codec where given', () => {
    const registry = createToolRegistry([add, greet]);
    expect(registry.names).toEqual(['add', 'greet']);
    expect(registry.definitions(['add'])).toEqual([
      {
        name: 'add',
        description: 'adds two numbers',
        parameters: {
          type: 'object',
          properties: { a: { type: 'number' }, b: { type: 'number' } },
          required: ['a', 'b'],
          additionalProperties: false,
        },
      },
    ]);
    expect(registry.definitions().map((d) => d.name)).toEqual(['add', 'greet']);
  });

  it.each<[string, Tool, string, unknown, ToolOutcome]>([
    ['a plain value', add, 'add', { a: 2, b: 3 }, { ok: true, result: 5 }],
    ['a Promise', greet, 'greet', { name: 'Ada' }, { ok: true, result: 'hello Ada' }],
    [
      'an Observable (its last value)',
      { name: 'count', description: '', parameters: {}, execute: () => timer(1).pipe(map(() => 3)) } as Tool,
      'count',
      {},
      { ok: true, result: 3 },
    ],
    [
      'undefined as null',
      { name: 'noop', description: '', parameters: {}, execute: () => undefined },
      'noop',
      {},
      { ok: true, result: null },
    ],
    [
      'empty argument text as {}',
      add,
      'add',
      '',
      { ok: false, error: expect.stringMatching(/^invalid arguments for add: a: expected number, got nothing/) },
    ],
  ])('returns %s', async (_name, tool, name, args, expected) => {
    expect(await run([tool], name, args)).toEqual(expected);
  });

  it.each<[string, Tool, unknown, RegExp]>([
    [
      'arguments that are not JSON',
      add,
      '{"a": 1,',
      /^invalid arguments for add: arguments are not valid JSON: \{"a": 1,$/,
    ],
    [
      'arguments of the wrong type (io-ts)',
      add,
      { a: '1', b: 2 },
      /^invalid arguments for add: a: expected number, got "1"$/,
    ],
    [
      'arguments failing the JSON Schema',
      greet,
      { name: '' },
      /^invalid arguments for greet: arguments\/name must NOT have fewer than 1 characters$/,
    ],
    [
      'a tool that throws',
      {
        ...add,
        execute: () => {
          throw new Error('kaput');
        },
      },
      { a: 1, b: 2 },
      /^kaput$/,
    ],
    [
      'a tool that rejects',
      { ...greet, execute: () => Promise.reject(new TypeError('no network')) },
      { name: 'x' },
      /^no network$/,
    ],
    [
      'a tool that throws a non-Error',
      {
        ...add,
        execute: () => {
          // eslint-disable-next-line @typescript-eslint/only-throw-error -- a non-Error thrown is the case under test.
          throw 'just a string';
        },
      },
      { a: 1, b: 2 },
      /^just a string$/,
    ],
    ['a result that is not JSON', { ...add, execute: () => 10n }, { a: 1, b: 2 }, /BigInt/],
  ])('turns %s into a tool error, never a crash', async (_name, tool, args, message) => {
    const outcome = await run([tool], tool.name, args);
    expect(outcome.ok).toBe(false);
    expect(!outcome.ok && outcome.error).toMatch(message);
  });

  it('answers an unknown tool with an error outcome', async () => {
    expect(await run([add], 'rm_rf', {})).toEqual({ ok: false, error: 'there is no tool named rm_rf' });
  });

  it('quotes at most a bounded prefix of huge arguments in its errors', async () => {
    const huge = 'z'.repeat(1024 * 1024);
    const echoing: Tool = {
      name: 'echoing',
      description: 'throws with its argument in the message',
      parameters: { type: 'object', properties: { zone: { type: 'string' } } },
      execute: ({ zone }: { zone: string }) => {
        throw new Error(`unknown time zone ${JSON.stringify(zone)}`);
      },
    };
    const thrown = await run([echoing], 'echoing', { zone: huge });
    const invalid = await run([add], 'add', `{"a": "${huge}`);
    const unknown = await run([add], huge, {});
    for (const outcome of [thrown, invalid, unknown]) {
      expect(outcome.ok).toBe(false);
      const { error } = outcome as { error: string };
      expect(error.length).toBeLessThanOrEqual(MAX_TOOL_ERROR_LENGTH);
    }
    expect((thrown as { error: string }).error).toMatch(/^unknown time zone "zzz+\.\.\.$/);
  });

  it('fails a tool that runs past the timeout, and aborts its signal', async () => {
    let signal: AbortSignal | undefined;
    const slow: Tool = {
      name: 'slow',
      description: '',
      parameters: {},
      execute: (_args, ctx) => ((signal = ctx.signal), NEVER),
    };
    const outcome = await firstValueFrom(
      createToolRegistry([slow], { timeoutMs: 20 }).execute(call('slow', {}), context),
    );
    expect(outcome).toEqual({ ok: false, error: 'slow did not finish within 20 ms' });
    expect(signal?.aborted).toBe(true);
  });

  it('aborts the signal when the caller unsubscribes, and passes the call context', async () => {
    const seen: { signal?: AbortSignal; toolCallId?: string; sessionId?: string } = {};
    const slow: Tool = {
      name: 'slow',
      description: '',
      parameters: {},
      execute: (_args, ctx) => {
        Object.assign(seen, ctx);
        return NEVER;
      },
    };
    const subscription = createToolRegistry([slow])
      .execute(call('slow', {}, 'call_9'), context)
      .subscribe();
    expect(seen.signal?.aborted).toBe(false);
    subscription.unsubscribe();
    expect(seen.signal?.aborted).toBe(true);
    expect(seen).toMatchObject({ toolCallId: 'call_9', sessionId: 's1' });
  });

  it.each<[string, Tool[], RegExp]>([
    ['a name with spaces', [{ ...add, name: 'add numbers' }], /tool name "add numbers" must be 1 to 64 letters/],
    ['two tools of one name', [add, add], /two tools are named add/],
    ['a JSON Schema that does not compile', [{ ...greet, parameters: { type: 'nonsense' } }], /schema is invalid/],
  ])('refuses %s at creation', (_name, tools, message) => {
    expect(() => createToolRegistry(tools)).toThrow(message);
  });

  it('runs many calls without sharing state between them', async () => {
    const registry = createToolRegistry([add]);
    const outcomes = await Promise.all(
      [1, 2, 3].map((n) => firstValueFrom(registry.execute(call('add', { a: n, b: n }, `c${n}`), context))),
    );
    expect(outcomes).toEqual([2, 4, 6].map((result) => ({ ok: true, result })));
  });
});

describe('jsonSchemaOf', () => {
  it.each<[string, t.Mixed, object]>([
    ['string', t.string, { type: 'string' }],
    ['integer', t.Int, { type: 'integer' }],
    [
      'keyof as enum',
      t.keyof({ celsius: null, fahrenheit: null }),
      { type: 'string', enum: ['celsius', 'fahrenheit'] },
    ],
    ['a union of literals as enum', t.union([t.literal(1), t.literal(2)]), { enum: [1, 2] }],
    ['a union of types as anyOf', t.union([t.string, t.number]), { anyOf: [{ type: 'string' }, { type: 'number' }] }],
    ['an array', t.array(t.boolean), { type: 'array', items: { type: 'boolean' } }],
    ['a record', t.record(t.string, t.number), { type: 'object', additionalProperties: { type: 'number' } }],
    [
      'required and optional fields together',
      t.intersection([t.type({ city: t.string }), t.partial({ unit: t.string })]),
      {
        type: 'object',
        properties: { city: { type: 'string' }, unit: { type: 'string' } },
        required: ['city'],
        additionalProperties: false,
      },
    ],
  ])('derives %s', (_name, codec, schema) => {
    expect(jsonSchemaOf(codec)).toEqual(schema);
  });

  it('refuses a codec it cannot describe, naming it', () => {
    expect(() => jsonSchemaOf(t.bigint)).toThrow(/cannot derive a JSON Schema from the io-ts codec bigint/);
  });
});

describe('needsApproval', () => {
  const ask = (tool: Tool, args: unknown): Promise<boolean> =>
    firstValueFrom(createToolRegistry([tool]).needsApproval(call(tool.name, args), context));
  const mail = (needsApproval: Tool['needsApproval']): Tool => ({ ...greet, name: 'send_mail', needsApproval });

  it.each<[string, Tool['needsApproval'], boolean]>([
    ['absent', undefined, false],
    ['false', false, false],
    ['true', true, true],
    ['a function of the arguments', (args: { name: string }) => args.name === 'boss', true],
    ['a function answering false', () => false, false],
    ['a Promise', async () => true, true],
    [
      'a function that throws (asking is the safe side)',
      () => {
        throw new Error('oops');
      },
      true,
    ],
    ['a Promise that rejects', () => Promise.reject(new Error('oops')), true],
  ])('is asked when it is %s', async (_name, rule, expected) => {
    expect(await ask(mail(rule), { name: 'boss' })).toBe(expected);
  });

  it('is not asked for arguments that do not validate, nor for an unknown tool: the call fails without running', async () => {
    const rule = jest.fn(() => true);
    expect(await ask(mail(rule), { name: '' })).toBe(false);
    expect(rule).not.toHaveBeenCalled();
    expect(await firstValueFrom(createToolRegistry([mail(true)]).needsApproval(call('nope', {}), context))).toBe(false);
  });

  it('gives the function the call context and aborts its signal on unsubscribe', async () => {
    let seen: { signal: AbortSignal; toolCallId: string } | undefined;
    const tool = mail((_args, ctx) => {
      seen = ctx;
      return new Promise<boolean>(() => undefined);
    });
    const subscription = createToolRegistry([tool])
      .needsApproval(call('send_mail', { name: 'x' }, 'call_9'), context)
      .subscribe();
    expect(seen?.toolCallId).toBe('call_9');
    expect(seen?.signal.aborted).toBe(false);
    subscription.unsubscribe();
    expect(seen?.signal.aborted).toBe(true);
  });
});
