/**
 * What a connection's session holds while its ownership is settled: the frames a connection got
 * while a store claimed its session, then, on a follower, the frames forwarded to the writer and
 * not yet taken (and pushes waiting for this process to write). One kind of buffer with one cap,
 * so a frame waits under the same bound whichever step of the settling it arrives in.
 */

/** Frames held at once while a session's ownership is settled; past it a frame is refused (`rate_limited`), a push dropped. */
export const MAX_HELD_FRAMES = 256;

/** A bounded first-in, first-out hold of `T`s, each under a key it can be let go by. */
export class HeldFrames<T> {
  private readonly items = new Map<string, T>();
  private count = 0;

  /** How many are held. */
  get size(): number {
    return this.items.size;
  }

  /** Whether one more fits. */
  get full(): boolean {
    return this.items.size >= MAX_HELD_FRAMES;
  }

  /** Holds `item`: its key, or undefined when {@link full} (nothing is held then). */
  hold(item: T): string | undefined {
    if (this.full) return undefined;
    const key = String(++this.count);
    this.items.set(key, item);
    return key;
  }

  /** Lets go of the item held under `key` (if it still is). */
  release(key: string): void {
    this.items.delete(key);
  }

  /** Everything held with its key, oldest first (still held). */
  entries(): [string, T][] {
    return [...this.items.entries()];
  }

  /** Everything held, oldest first, and holds nothing from then on. */
  takeAll(): T[] {
    const all = [...this.items.values()];
    this.items.clear();
    return all;
  }
}
