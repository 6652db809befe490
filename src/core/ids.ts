/**
 * Ids and secrets, from the Web Crypto API (global in Node 20, Bun and Deno): the core imports
 * no `node:crypto`.
 */

/** Random bytes fetched at a time: each `getRandomValues` call costs more than the bytes (WebIDL checks, a native call). */
const POOL_BYTES = 4096;
let pool = new Uint8Array(0);
let used = 0;

/** `count` (at most POOL_BYTES) random bytes as base64url (no padding), each pool byte handed out once. */
function randomBase64url(count: number): string {
  if (used + count > pool.length) {
    pool = crypto.getRandomValues(new Uint8Array(POOL_BYTES));
    used = 0;
  }
  const start = used;
  used += count;
  return Buffer.from(pool.buffer, pool.byteOffset + start, count).toString('base64url');
}

/**
 * Makes short ids that are unique across processes: a random prefix (48 bits) per generator,
 * then a counter. Cheaper than a UUID per message, and ids of one session sort by creation.
 */
export function createIdGenerator(): () => string {
  const prefix = randomBase64url(6);
  let counter = 0;
  return () => `${prefix}${(counter++).toString(36)}`;
}

/** A new session's id and its 256-bit resume token: the token is the only proof needed to take the session over. */
export function newSessionIdentity(): { sessionId: string; resumeToken: string } {
  return { sessionId: crypto.randomUUID(), resumeToken: randomBase64url(32) };
}
