import { createHash } from 'node:crypto';

/** SHA-256 of a resume token: a store never holds a token that would let a reader take a session over. */
export const hashToken = (token: string): string => createHash('sha256').update(token).digest('base64url');
