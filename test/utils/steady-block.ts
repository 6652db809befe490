import type { RecordedRequest } from '../../src/testing/node';

/** How long the upstream must stay blocked on its socket to count as stopped. */
const QUIET_MS = 2000;

/**
 * Waits until the upstream has been blocked on a full socket for QUIET_MS, and resolves with the
 * events it had sent; rejects if it writes its last event first (nothing held it back).
 */
export async function steadyBlock(request: RecordedRequest, total: number): Promise<number> {
  for (;;) {
    const sent = await Promise.race([request.whenBlocked(), request.ended.then(() => -1)]);
    if (sent === -1 || request.eventsSent >= total)
      throw new Error(`the upstream wrote all ${total} events while the reader stalled`);
    let timer: NodeJS.Timeout | undefined;
    const quiet = new Promise<'quiet'>((resolve) => (timer = setTimeout(() => resolve('quiet'), QUIET_MS)));
    const outcome = await Promise.race([request.whenDrained(), quiet]);
    clearTimeout(timer);
    if (outcome === 'quiet') return sent;
  }
}
