/**
 * Resolves with the first non-undefined result of `find`, checking now and after each
 * notification on `changed`; rejects if `find` throws, or after `timeoutMs` with `describe()`.
 */
export function waitUntil<T>(
  find: () => T | undefined,
  changed: Set<() => void>,
  timeoutMs: number,
  describe: () => string,
): Promise<T> {
  return new Promise((resolve, reject) => {
    // Assigned once below: `settle` may run (from the first check) before it is.
    // eslint-disable-next-line prefer-const
    let timer: NodeJS.Timeout | undefined;
    const settle = (outcome: () => void): void => {
      clearTimeout(timer);
      changed.delete(check);
      outcome();
    };
    function check(): boolean {
      try {
        const value = find();
        if (value === undefined) return false;
        settle(() => resolve(value));
      } catch (error) {
        settle(() => reject(error));
      }
      return true;
    }
    if (check()) return;
    timer = setTimeout(() => settle(() => reject(new Error(describe()))), timeoutMs);
    changed.add(check);
  });
}

/** Polls `condition` (which may be async) every `intervalMs` until it holds; rejects after `timeoutMs`. */
export async function waitUntilTrue(
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
  intervalMs = 20,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition still false after ${timeoutMs} ms: ${condition.toString()}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
