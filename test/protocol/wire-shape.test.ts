import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import * as E from 'fp-ts/Either';
import { GENERATED_PATH, generateServerShapes } from '../../scripts/generate-wire-shapes';
import { serverMessageCodecs, type ServerMessageType } from '../../src/protocol/codecs';
import { decodeServerMessage } from '../../src/protocol/decode';
import { serverMessageDataShapes } from '../../src/protocol/server-shapes.generated';
import { serverEnvelope, type WireShape } from '../../src/protocol/wire-shape';

/**
 * The client decodes server frames from wire shapes generated out of the io-ts codecs. These
 * tests hold the two together: the generated file is what the codecs say today, and on any
 * value, valid or not, the shape decoder and the codec agree on accepting it and on the result.
 */
describe('wire shapes of the server messages', () => {
  it('are up to date with the io-ts codecs (run `npm run generate` after changing a codec)', () => {
    expect(readFileSync(GENERATED_PATH, 'utf8')).toBe(generateServerShapes());
  });

  /** Arbitrary JSON values a peer could send anywhere. */
  const anyJson = fc.jsonValue({ maxDepth: 2 });

  /** Values that satisfy `shape`, with unknown keys sprinkled in. */
  function valid(shape: WireShape): fc.Arbitrary<unknown> {
    if (shape === 'string') return fc.string({ maxLength: 5 });
    if (shape === 'number') return fc.double({ noNaN: true, noDefaultInfinity: true });
    if (shape === 'boolean') return fc.boolean();
    if (shape === 'unknown') return anyJson;
    if ('literal' in shape) return fc.constant(shape.literal);
    if ('keyof' in shape) return fc.constantFrom(...shape.keyof);
    if ('array' in shape) return fc.array(valid(shape.array), { maxLength: 3 });
    const required = fc.record(
      Object.fromEntries(Object.entries(shape.required).map(([key, field]) => [key, valid(field)])),
    );
    const optional = fc.record(
      Object.fromEntries(Object.entries(shape.optional ?? {}).map(([key, field]) => [key, valid(field)])),
      { requiredKeys: [] },
    );
    // No `__proto__` here: io-ts lets it set a copy's prototype and merges its keys into the
    // result, where the shape decoder drops it (its own test below).
    const extra = fc.dictionary(fc.constantFrom('extra', 'admin', 'constructor', 'toString'), anyJson, { maxKeys: 2 });
    return fc
      .tuple(required, optional, extra)
      .map(([r, o, x]) => Object.assign(JSON.parse(JSON.stringify(x)) as object, r, o));
  }

  /** A valid value with one field (at any depth) replaced by an arbitrary value, or removed. */
  function mutate(value: unknown, path: number[], replacement: unknown): unknown {
    if (typeof value !== 'object' || value === null || path.length === 0) return replacement;
    const keys = Object.keys(value);
    if (keys.length === 0) return replacement;
    const key = keys[(path[0] as number) % keys.length] as string;
    const copy: Record<string, unknown> = Array.isArray(value)
      ? ([...value] as unknown as Record<string, unknown>)
      : { ...value };
    const next = mutate(copy[key], path.slice(1), replacement);
    // A mutation may drop a field: the copy is this test's own.
    // eslint-disable-next-line @typescript-eslint/no-dynamic-delete
    if (next === undefined) delete copy[key];
    else copy[key] = next;
    return copy;
  }

  const types = Object.keys(serverMessageCodecs) as ServerMessageType[];
  const message = fc.constantFrom(...types).chain((type) => valid(serverEnvelope(type, serverMessageDataShapes[type])));
  const mutated = fc
    .tuple(message, fc.array(fc.nat(), { minLength: 1, maxLength: 4 }), fc.option(anyJson, { nil: undefined }))
    .map(([value, path, replacement]) => mutate(value, path, replacement));

  const ioTsDecode = (value: unknown): E.Either<unknown, unknown> => {
    const type = (value as { type?: unknown } | null)?.type;
    const codec =
      typeof type === 'string' && Object.prototype.hasOwnProperty.call(serverMessageCodecs, type)
        ? serverMessageCodecs[type as ServerMessageType]
        : undefined;
    return codec ? codec.decode(value) : E.left('unknown');
  };

  it.each([
    ['valid messages', message],
    ['messages with one field changed or removed', mutated],
  ])('decode as the codecs decode them: %s', (_name, values) => {
    fc.assert(
      fc.property(values, (value) => {
        const ours = decodeServerMessage(JSON.stringify(value));
        const theirs = ioTsDecode(JSON.parse(JSON.stringify(value ?? null)));
        expect(E.isRight(ours)).toBe(E.isRight(theirs));
        if (E.isRight(ours) && E.isRight(theirs)) {
          expect(ours.right).toEqual(theirs.right);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('drop a `__proto__` key at every level: it reaches neither the result nor its prototype', () => {
    const result = decodeServerMessage(
      '{"__proto__":{"x":1},"type":"status","id":"a","data":{"__proto__":{"y":2},"status":"idle"}}',
    );
    expect(result).toEqual(E.right({ type: 'status', id: 'a', data: { status: 'idle' } }));
    const message = (result as E.Right<{ data: object }>).right;
    expect([Object.getPrototypeOf(message), Object.getPrototypeOf(message.data)]).toEqual([
      Object.prototype,
      Object.prototype,
    ]);
    expect(Object.keys(message.data)).toEqual(['status']);
  });

  it('say which field is wrong, as the client decoder reports it', () => {
    const result = decodeServerMessage(
      JSON.stringify({ type: 'llm_chunk', id: 'a', data: { chunk: 42, isComplete: false } }),
    );
    expect(result).toMatchObject({
      left: { code: 'invalid_message', message: 'data.chunk: expected string, got 42', requestId: 'a' },
    });
  });
});
