/** What `/health` says of the model endpoint. */
export interface UpstreamHealth {
  /** null until the first check has finished, or when there is no way to check. */
  readonly reachable: boolean | null;
  readonly checkedAt: string | null;
}

/**
 * Caches whether the model endpoint answers. Reading never waits: a stale value starts a check
 * in the background and the last known one is returned, so `/health` stays fast when the
 * endpoint is slow or down.
 */
export function createUpstreamHealth(
  check: (() => Promise<boolean>) | undefined,
  maxAgeMs = 30_000,
): { current(): UpstreamHealth } {
  let state: UpstreamHealth = { reachable: null, checkedAt: null };
  let checking = false;
  let checkedAtMs = 0;
  const refresh = (): void => {
    if (!check || checking) return;
    checking = true;
    void check()
      .catch(() => false)
      .then((reachable) => {
        checkedAtMs = Date.now();
        state = { reachable, checkedAt: new Date(checkedAtMs).toISOString() };
        checking = false;
      });
  };
  return {
    current: () => {
      if (Date.now() - checkedAtMs > maxAgeMs) refresh();
      return state;
    },
  };
}
