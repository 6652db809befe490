/**
 * Whether a connection's principal is the one a session belongs to. A session is bound to the
 * principal `authenticate` gave the connection that created it: a resume by anyone else is refused.
 */

/** `value` as JSON with every object's keys sorted, or undefined when it is not JSON data. */
export function canonicalJson(value: unknown): string | undefined {
  let plain: unknown;
  try {
    const json = JSON.stringify(value);
    if (json === undefined) return undefined;
    plain = JSON.parse(json);
  } catch {
    // A cycle or a BigInt: not data a store could keep either.
    return undefined;
  }
  const sorted = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(sorted);
    if (node === null || typeof node !== 'object') return node;
    const entries = Object.entries(node as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return Object.fromEntries(entries.map(([key, child]) => [key, sorted(child)]));
  };
  return JSON.stringify(sorted(plain));
}

/**
 * Whether `a` and `b` are the same principal: the same value, or equal as JSON data whatever the
 * order of their keys (a shared store keeps a session's principal as JSON, and `authenticate` may
 * return a new object for each connection of one user). Without `authenticate`, every principal
 * is `undefined`, and the same.
 */
export function samePrincipal(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a === null || b === null) return false;
  const json = canonicalJson(a);
  return json !== undefined && json === canonicalJson(b);
}

/** The key a store files a principal's conversations under: its canonical JSON (`null` for the anonymous principal or one that is not data). */
export function principalKey(principal: unknown): string {
  return canonicalJson(principal ?? null) ?? 'null';
}
