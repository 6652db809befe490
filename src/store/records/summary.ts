/**
 * What a conversation list shows of a history, computed when the history is written so a list
 * reads no history: the title from the first user message (no model call) and the count; and
 * the usage total, kept as JSON beside them.
 */
import { activeHistory } from '../../core/ports';
import { type HistoryMessage, Usage } from '../../protocol/codecs';

/** Characters of the first user message a title keeps. */
export const TITLE_MAX_LENGTH = 80;

/** How many messages the conversation shows: its active branch (a stored history also keeps the others). */
export function messageCountOf(history: readonly HistoryMessage[]): number {
  return activeHistory(history).length;
}

/** The start of the first user message, on one line ('' before one). */
export function titleOf(history: readonly HistoryMessage[]): string {
  const first = activeHistory(history).find((message) => message.role === 'user');
  if (!first) return '';
  // Bounded input first: no expression runs over a long message.
  const start = first.content
    .slice(0, TITLE_MAX_LENGTH * 2)
    .replace(/\s+/g, ' ')
    .trim();
  return start.length > TITLE_MAX_LENGTH ? `${start.slice(0, TITLE_MAX_LENGTH - 1)}…` : start;
}

/** A usage total as a store keeps it: JSON text. */
export function usageJson(usage: Usage): string {
  return JSON.stringify(usage);
}

/** A usage total read back; none for none, or for anything that is not one. */
export function usageOf(text: string | null | undefined): Usage | undefined {
  if (text === null || text === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    return Usage.is(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** A cursor of a conversation page: the position after the last summary given (`updatedAt`, id). */
export function encodeCursor(updatedAt: number, id: string): string {
  return Buffer.from(JSON.stringify([updatedAt, id])).toString('base64url');
}

/** The position a cursor names; undefined for one that is not ours (the list starts over). */
export function decodeCursor(cursor: string | undefined): { updatedAt: number; id: string } | undefined {
  if (cursor === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString());
    if (Array.isArray(parsed) && typeof parsed[0] === 'number' && typeof parsed[1] === 'string')
      return { updatedAt: parsed[0], id: parsed[1] };
  } catch {
    // Not one of ours.
  }
  return undefined;
}
