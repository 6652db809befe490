import { randomBytes } from 'node:crypto';

/**
 * Makes short ids that are unique across processes: a random prefix (48 bits) per generator,
 * then a counter. Cheaper than a UUID per message, and ids of one session sort by creation.
 */
export function createIdGenerator(): () => string {
  const prefix = randomBytes(6).toString('base64url');
  let counter = 0;
  return () => `${prefix}${(counter++).toString(36)}`;
}
