import * as t from 'io-ts';
import type { JSONSchema } from '../llm/types';

function isObjectSchema(schema: JSONSchema): boolean {
  return schema.type === 'object' && typeof schema.properties === 'object';
}

/** Merges the object schemas of an intersection's members into one. */
function mergeObjects(schemas: JSONSchema[], name: string): JSONSchema {
  const properties: Record<string, unknown> = {};
  const required: string[] = [];
  for (const schema of schemas) {
    if (!isObjectSchema(schema))
      throw new TypeError(`cannot derive a JSON Schema from ${name}: only objects can be intersected`);
    Object.assign(properties, schema.properties);
    required.push(...((schema.required as string[] | undefined) ?? []));
  }
  return { type: 'object', properties, ...(required.length ? { required } : {}), additionalProperties: false };
}

function objectSchema(props: t.Props, required: boolean): JSONSchema {
  const properties = Object.fromEntries(Object.entries(props).map(([key, codec]) => [key, jsonSchemaOf(codec)]));
  const names = Object.keys(props);
  return {
    type: 'object',
    properties,
    ...(required && names.length ? { required: names } : {}),
    additionalProperties: false,
  };
}

/**
 * Derives the JSON Schema of an io-ts codec, so a tool can declare its parameters once.
 * Covers the codecs that describe JSON: string, number, boolean, null, literal, keyof, union,
 * array, type, partial, strict/exact, intersection of objects, record, refinements and brands
 * (as their base type) and unknown. Anything else throws a TypeError naming the codec.
 */
export function jsonSchemaOf(codec: t.Mixed): JSONSchema {
  if (codec instanceof t.StringType) return { type: 'string' };
  if (codec instanceof t.NumberType) return { type: 'number' };
  if (codec instanceof t.BooleanType) return { type: 'boolean' };
  if (codec instanceof t.NullType) return { type: 'null' };
  if (codec instanceof t.UnknownType) return {};
  if (codec instanceof t.LiteralType) return { const: codec.value as unknown };
  if (codec instanceof t.KeyofType) return { type: 'string', enum: Object.keys(codec.keys as object) };
  if (codec === t.Int) return { type: 'integer' };
  if (codec instanceof t.RefinementType || codec instanceof t.ExactType) return jsonSchemaOf(codec.type as t.Mixed);
  if (codec instanceof t.ArrayType || codec instanceof t.ReadonlyArrayType)
    return { type: 'array', items: jsonSchemaOf(codec.type as t.Mixed) };
  if (codec instanceof t.InterfaceType) return objectSchema(codec.props as t.Props, true);
  if (codec instanceof t.PartialType) return objectSchema(codec.props as t.Props, false);
  if (codec instanceof t.DictionaryType)
    return { type: 'object', additionalProperties: jsonSchemaOf(codec.codomain as t.Mixed) };
  if (codec instanceof t.IntersectionType)
    return mergeObjects((codec.types as t.Mixed[]).map(jsonSchemaOf), codec.name);
  if (codec instanceof t.UnionType) {
    const members = (codec.types as t.Mixed[]).map(jsonSchemaOf);
    if (members.every((m) => 'const' in m)) return { enum: members.map((m) => m.const) };
    return { anyOf: members };
  }
  throw new TypeError(
    `cannot derive a JSON Schema from the io-ts codec ${codec.name}: give the tool a JSON Schema instead`,
  );
}
