/**
 * The check of the tools a `user_message` declares to run on the client (`clientTools`): names,
 * sizes, and each `parameters` schema compiled with Ajv. The core gets it as an option
 * (`SessionOptions.checkClientTools`) and never loads Ajv itself; the answers that come back are
 * ./client-answers.ts.
 */
import type Ajv from 'ajv';
import type { ValidateFunction } from 'ajv';
import { createHash } from 'node:crypto';
import type { LLMToolDefinition } from '../llm/types';
import { newAjv } from './ajv';
import type { ClientToolDeclaration } from '../protocol/codecs';
import { depthOf } from './json-depth';

/**
 * Most UTF-8 bytes of JSON all `parameters` schemas of one declaration may hold together (16 KiB):
 * compiling costs at least linearly in it (16 KiB of new schemas: 15 to 30 ms of CPU, the most for
 * one object of 500 properties; 32 KiB took up to 100 ms, past the 50 ms one frame may hold the
 * event loop). Schemas compiled before cost a hash only.
 */
export const MAX_CLIENT_TOOLS_SCHEMA_BYTES = 16 * 1024;
/** Deepest nesting of objects and arrays in one `parameters` schema: compile time grows with depth squared. */
export const MAX_CLIENT_TOOL_SCHEMA_DEPTH = 32;
/** Distinct schemas whose compiled validators this process keeps (least recently used go first). */
export const CLIENT_TOOL_SCHEMA_CACHE_SIZE = 256;

/** A schema's compiled validator, or why it does not compile. */
type Compiled = { readonly validate: ValidateFunction } | { readonly error: string };

/**
 * Validators by the SHA-256 of their schema's JSON text, least recently used first. WSClient
 * declares the same tools with every message: each distinct schema compiles once, and the cache
 * stays bounded however many schemas clients send.
 */
const compiledSchemas = new Map<string, Compiled>();

/** Checks schemas against the JSON Schema meta-schema only: it compiles and registers nothing of a client's. */
let metaChecker: Ajv | undefined;

/**
 * Compiles one schema in an Ajv instance of its own: the `$id`s, `$ref`s and anchors of one
 * client's schema can never meet another's (a shared instance keeps every `$id` it saw, so the
 * same declaration from a later session would be refused as "already exists").
 */
function compile(schema: Record<string, unknown>): Compiled {
  try {
    const checker = (metaChecker ??= newAjv({ strict: false, addUsedSchema: false }));
    if (!checker.validateSchema(schema)) return { error: checker.errorsText(checker.errors) };
    const own = newAjv({
      strict: false,
      meta: false,
      validateSchema: false,
      addUsedSchema: false,
      // The validators are for correctness, not speed: unoptimised code compiles faster.
      code: { optimize: false },
    });
    return { validate: own.compile(schema) };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

/** The compiled validator of `schema` (JSON text `json`), from the cache or compiled now. */
function compiledFor(schema: Record<string, unknown>, json: string): Compiled {
  const key = createHash('sha256').update(json).digest('base64');
  const cached = compiledSchemas.get(key);
  if (cached) {
    // Most recently used goes last.
    compiledSchemas.delete(key);
    compiledSchemas.set(key, cached);
    return cached;
  }
  const compiled = compile(schema);
  compiledSchemas.set(key, compiled);
  if (compiledSchemas.size > CLIENT_TOOL_SCHEMA_CACHE_SIZE) {
    compiledSchemas.delete(compiledSchemas.keys().next().value as string);
  }
  return compiled;
}

/** A declaration refused, and why. */
export interface ClientToolsRefusal {
  readonly ok: false;
  readonly error: string;
}

/**
 * Checks the client tools of a `user_message` (the codec has bounded their number and each
 * schema's size): no name may repeat or be one of the server's tools, the schemas together hold
 * at most {@link MAX_CLIENT_TOOLS_SCHEMA_BYTES}, none nests deeper than
 * {@link MAX_CLIENT_TOOL_SCHEMA_DEPTH}, and each must compile. Returns the definitions to offer
 * the model, or why the declaration is refused (the reply ends with `invalid_client_tools`).
 */
export function checkClientTools(
  declared: readonly ClientToolDeclaration[],
  serverToolNames: readonly string[],
): { readonly ok: true; readonly definitions: LLMToolDefinition[] } | ClientToolsRefusal {
  const seen = new Set<string>();
  const texts: string[] = [];
  let totalBytes = 0;
  for (const tool of declared) {
    if (serverToolNames.includes(tool.name))
      return { ok: false, error: `client tool ${tool.name} has the name of one of this server's tools` };
    if (seen.has(tool.name)) return { ok: false, error: `two client tools are named ${tool.name}` };
    seen.add(tool.name);
    const json = JSON.stringify(tool.parameters);
    totalBytes += Buffer.byteLength(json);
    texts.push(json);
  }
  if (totalBytes > MAX_CLIENT_TOOLS_SCHEMA_BYTES)
    return {
      ok: false,
      error: `the parameters schemas of the client tools have ${totalBytes} bytes together; this server takes at most ${MAX_CLIENT_TOOLS_SCHEMA_BYTES}`,
    };
  for (const [i, tool] of declared.entries()) {
    if (depthOf(tool.parameters, MAX_CLIENT_TOOL_SCHEMA_DEPTH) > MAX_CLIENT_TOOL_SCHEMA_DEPTH)
      return {
        ok: false,
        error: `the parameters of client tool ${tool.name} nest deeper than ${MAX_CLIENT_TOOL_SCHEMA_DEPTH} levels`,
      };
    const compiled = compiledFor(tool.parameters, texts[i] as string);
    if ('error' in compiled)
      return {
        ok: false,
        error: `the parameters of client tool ${tool.name} are not a valid JSON Schema: ${compiled.error}`,
      };
  }
  return {
    ok: true,
    definitions: declared.map(({ name, description, parameters }) => ({ name, description, parameters })),
  };
}
