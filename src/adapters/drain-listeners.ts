/**
 * The listeners of a transport's `onDrain` (see `Transport.onDrain`), for an adapter to fire from
 * its socket's write callbacks or drain event. Kept as undefined while nobody listens: thousands of
 * idle connections cost no array each.
 */
export class DrainListeners {
  private listeners: Array<() => void> | undefined;

  /** Adds `listener` until the returned function is called. */
  add(listener: () => void): () => void {
    const own = (): void => listener();
    (this.listeners ??= []).push(own);
    return () => {
      const remaining = this.listeners?.filter((candidate) => candidate !== own);
      this.listeners = remaining && remaining.length > 0 ? remaining : undefined;
    };
  }

  /** The send buffer shrank: whoever listens checks `bufferedAmount` again. */
  fire(): void {
    const listeners = this.listeners;
    if (listeners) for (const listener of [...listeners]) listener();
  }
}
