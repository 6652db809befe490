import { createIdGenerator, newSessionIdentity } from '../../src/core/ids';

describe('ids', () => {
  it('gives every session a distinct UUID and a distinct 256-bit base64url resume token, across many sessions', () => {
    // Enough to draw the random bytes from several pools.
    const identities = Array.from({ length: 500 }, () => newSessionIdentity());
    for (const { sessionId, resumeToken } of identities) {
      expect(sessionId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(resumeToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(resumeToken, 'base64url')).toHaveLength(32);
    }
    expect(new Set(identities.map((identity) => identity.resumeToken)).size).toBe(identities.length);
    expect(new Set(identities.map((identity) => identity.sessionId)).size).toBe(identities.length);
  });

  it('makes ids unique within a generator and across generators', () => {
    const generators = Array.from({ length: 200 }, () => createIdGenerator());
    const ids = generators.flatMap((next) => [next(), next(), next()]);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
