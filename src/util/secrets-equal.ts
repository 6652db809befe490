import { createHash, timingSafeEqual } from 'node:crypto';

/** Compares secrets in time that does not depend on where, or whether, they differ. */
export function secretsEqual(a: string, b: string): boolean {
  // Hashing first gives equal lengths, so not even the length of the secret leaks.
  const digest = (text: string): Buffer => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(a), digest(b));
}
