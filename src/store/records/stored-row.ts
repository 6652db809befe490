/**
 * How SQL stores (SQLite, PostgreSQL) keep a session in one row, and read it back: principals and
 * history as JSON text, kept opaque.
 */
import type { ConversationSummary, SessionMeta, StoredSession } from '../../core/ports';
import type { HistoryMessage } from '../../protocol/codecs';
import { usageOf } from './summary';

/** `user_message` ids kept per session: a resend is of a message that got no answer before a reconnect. */
export const REMEMBERED_REQUEST_IDS = 64;

/** Conversations a list page holds at most. */
export const MAX_PAGE_SIZE = 100;

/** A session row, as both SQL stores name its columns. */
export interface SessionRow {
  readonly token_hash: string;
  readonly principal: string;
  readonly created_at: number | string | bigint;
  readonly updated_at: number | string | bigint;
  readonly title: string | null;
  readonly history: string;
  readonly busy_request: string | null;
  readonly busy_from: number | string | bigint | null;
  readonly last_seq: number | string | bigint;
  readonly request_ids: string;
  /** The usage total as JSON (null before a reply reported any). */
  readonly usage_total: string | null;
}

/** A summary row of a list. */
export interface SummaryRow {
  readonly id: string;
  readonly title: string;
  readonly created_at: number | string | bigint;
  readonly updated_at: number | string | bigint;
  readonly message_count: number | string | bigint;
  readonly usage_total: string | null;
}

/** Parses JSON written by llm-ws; anything unreadable counts as `fallback`. */
function parsed<T>(text: string | null, fallback: T): T {
  try {
    return text === null ? fallback : ((JSON.parse(text) as T | null) ?? fallback);
  } catch {
    return fallback;
  }
}

/** A principal as stored: JSON, `null` for the anonymous one (or one that is not data). */
export function principalJson(principal: unknown): string {
  try {
    return JSON.stringify(principal ?? null) ?? 'null';
  } catch {
    return 'null';
  }
}

/** A row read back. */
export function storedSession(row: SessionRow): StoredSession {
  const history = parsed<unknown>(row.history, []);
  const requestIds = parsed<unknown>(row.request_ids, []);
  const usage = usageOf(row.usage_total);
  const meta: SessionMeta = {
    tokenHash: row.token_hash,
    principal: parsed<unknown>(row.principal, undefined),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    ...(row.title === null ? {} : { title: row.title }),
    ...(row.busy_request === null
      ? {}
      : { busy: { requestId: row.busy_request, fromSeq: Number(row.busy_from ?? 1) } }),
    ...(usage ? { usage } : {}),
  };
  return {
    meta,
    history: Array.isArray(history) ? (history as HistoryMessage[]) : [],
    requestIds: Array.isArray(requestIds) ? (requestIds as string[]) : [],
    lastSeq: Number(row.last_seq),
  };
}

/** A summary row read back. */
export function summaryOf(row: SummaryRow): ConversationSummary {
  const usage = usageOf(row.usage_total);
  return {
    id: row.id,
    title: row.title,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    messageCount: Number(row.message_count),
    ...(usage ? { usage } : {}),
  };
}

/** `requestId` first, then the ids kept before it, newest first, at most {@link REMEMBERED_REQUEST_IDS}. */
export function withRequestId(stored: string, requestId: string): string {
  const ids = parsed<unknown>(stored, []);
  const before = Array.isArray(ids) ? (ids as string[]).filter((id) => id !== requestId) : [];
  return JSON.stringify([requestId, ...before].slice(0, REMEMBERED_REQUEST_IDS));
}

/** A page of summaries from `limit + 1` rows: the extra one says there is a next page. */
export function pageOf(
  rows: readonly SummaryRow[],
  limit: number,
  cursorOf: (updatedAt: number, id: string) => string,
): { conversations: ConversationSummary[]; nextCursor?: string } {
  const conversations = rows.slice(0, limit).map(summaryOf);
  const last = conversations[conversations.length - 1];
  return rows.length > limit && last
    ? { conversations, nextCursor: cursorOf(last.updatedAt, last.id) }
    : { conversations };
}
