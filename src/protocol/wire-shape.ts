/**
 * Wire shapes: the io-ts codecs of the server's messages, written out as plain data by
 * scripts/generate-wire-shapes.ts, and a small checker for them. The client decodes with these
 * so that a browser app does not carry io-ts; the codecs stay the one source of truth (the
 * generated file is checked against them by test/protocol/wire-shape.test.ts, value for value).
 */

/** The shape of a value: what the codec it was derived from accepts. */
export type WireShape =
  | 'string'
  | 'number'
  | 'boolean'
  | 'unknown'
  | { readonly literal: string }
  | { readonly keyof: readonly string[] }
  | { readonly array: WireShape }
  /** An exact object: keys not listed are dropped, as `t.strict` and `t.exact` drop them. */
  | { readonly required: Readonly<Record<string, WireShape>>; readonly optional?: Readonly<Record<string, WireShape>> };

/**
 * The envelope every server message shares, around its `data`: `{ type, id, data, seq? }`. The
 * generator checks each server codec against it, so the generated file lists only the `data`.
 */
export function serverEnvelope(type: string, data: WireShape): WireShape {
  return { required: { type: { literal: type }, id: 'string', data }, optional: { seq: 'number' } };
}

/** What the shape expects, in an error message's words. */
function expected(shape: WireShape): string {
  if (typeof shape === 'string') return shape;
  if ('literal' in shape) return JSON.stringify(shape.literal);
  if ('keyof' in shape) return shape.keyof.map((key) => JSON.stringify(key)).join(' | ');
  return 'array' in shape ? 'an array' : 'an object';
}

const join = (path: string, key: string | number): string =>
  typeof key === 'number' ? `${path}[${key}]` : path ? `${path}.${key}` : key;
const has = (value: object, key: string): boolean => Object.prototype.hasOwnProperty.call(value, key);

/**
 * Checks `value` against `shape`, as the codec would decode it: returns the value with unknown
 * keys dropped, and pushes a line (`data.chunk: expected string, got 42`) to `problems` for each
 * mismatch (the result is then meaningless). `describe` quotes a value.
 */
export function checkShape(
  shape: WireShape,
  value: unknown,
  path: string,
  problems: string[],
  describe: (value: unknown) => string,
): unknown {
  const fail = (): unknown => {
    problems.push(`${path || '(message)'}: expected ${expected(shape)}, got ${describe(value)}`);
    return value;
  };
  if (typeof shape === 'string') return shape === 'unknown' || typeof value === shape ? value : fail();
  if ('literal' in shape) return value === shape.literal ? value : fail();
  if ('keyof' in shape) return typeof value === 'string' && shape.keyof.includes(value) ? value : fail();
  if ('array' in shape)
    return Array.isArray(value)
      ? value.map((item, i) => checkShape(shape.array, item, join(path, i), problems, describe))
      : fail();
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail();
  const record = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(shape.required)) {
    const decoded = checkShape(field, record[key], join(path, key), problems, describe);
    if (has(record, key)) out[key] = decoded;
  }
  for (const [key, field] of Object.entries(shape.optional ?? {})) {
    if (record[key] === undefined) {
      if (has(record, key)) out[key] = undefined;
      continue;
    }
    out[key] = checkShape(field, record[key], join(path, key), problems, describe);
  }
  return out;
}
