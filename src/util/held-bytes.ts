/**
 * Up to this many sessions, their bytes are summed at every check. Past it, a sum up to 100 ms old
 * serves: at 1,000 sessions a sum took 0.15 ms, paid by every connect and disconnect (a herd of
 * 200 reply starts spent more here than in any other one place).
 */
const EXACT_COUNT_SESSIONS = 100;
/** Past {@link EXACT_COUNT_SESSIONS}, how old a sum of the sessions' bytes a check may use, in ms. */
const BYTES_RECOUNT_MS = 100;

/** Anything that holds bytes of the session budget (a session: `Session.heldBytes`). */
export interface HoldsBytes {
  readonly heldBytes: number;
}

/** What sessions hold together, for the session budget's checks. */
export interface HeldBytesCounter {
  /** The bytes all sessions hold (see `Session.heldBytes`), as of now or of at most 100 ms ago. */
  read(): number;
  /** Sessions that held `bytes` went: the sum in hand goes down by as much. */
  dropped(bytes: number): void;
}

/**
 * Sums `heldBytes` over `sessions()`: O(sessions), so past 100 sessions at most once per
 * 100 ms — a herd of connections, or of disconnections, would otherwise sum it once each.
 */
export function createHeldBytesCounter(
  sessions: () => { readonly size: number; values(): Iterable<HoldsBytes> },
): HeldBytesCounter {
  let counted: { bytes: number; at: number } | undefined;
  return {
    read() {
      const now = performance.now();
      const all = sessions();
      if (all.size > EXACT_COUNT_SESSIONS && counted && now - counted.at < BYTES_RECOUNT_MS) return counted.bytes;
      let bytes = 0;
      for (const session of all.values()) bytes += session.heldBytes;
      counted = { bytes, at: now };
      return bytes;
    },
    dropped(bytes) {
      if (counted) counted.bytes -= bytes;
    },
  };
}
