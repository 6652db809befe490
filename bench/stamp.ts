import { EMIT_TIME_PLACEHOLDER } from '../src/testing/node';

/** The text of chunk `index`: its index, (filled in by the upstream when written) its emit time, and `padding` bytes. */
export const stampChunk = (index: number, padding = 0): string =>
  `${index}@${EMIT_TIME_PLACEHOLDER};${'x'.repeat(padding)}`;

/** Reads the stamps out of received text (chunks may have been coalesced, so any number per piece). */
export function readStamps(text: string): Array<{ index: number; emitMs: number }> {
  const stamps: Array<{ index: number; emitMs: number }> = [];
  for (const match of text.matchAll(/(\d+)@(\d+\.\d+);/g))
    stamps.push({ index: Number(match[1]), emitMs: Number(match[2]) });
  return stamps;
}
