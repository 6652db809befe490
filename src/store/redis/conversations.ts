/**
 * A principal's conversations on the Redis store: listed from the principal's index
 * (./conversation-index.ts) with what each session's meta hash says of it, opened by id with a
 * new resume token, renamed, deleted (every key of the session, its index entry, and its
 * connection on whichever process holds it, told over the bus). With durable records under
 * Redis, they are the catalog: listed from them, and a conversation Redis lost is opened or
 * renamed after it is written back (./restore.ts); a deletion removes it from both.
 */
import type { ConversationCatalog, ConversationSummary, Session, ShareClaim } from '../../core/ports';
import { CloseCode } from '../../protocol/codes';
import { samePrincipal } from '../../util/same-principal';
import { decodeCursor, encodeCursor } from '../records/summary';
import type { ListedEntry } from './conversation-index';
import { hashToken } from './redis-data';
import { readMeta } from './restore';
import type { ServerProcess } from './server-process';

/** A deleted conversation's session held by this process: its connection closes (4410) and it is let go of. */
function dropDeleted(node: ServerProcess, session: Session): void {
  session.closeConnection(CloseCode.ConversationDeleted, 'the conversation was deleted');
  node.context.sessions.drop(session);
}

/** The conversation catalog of the Redis store on process `node`. */
export function redisConversations(node: ServerProcess, claim: ShareClaim): ConversationCatalog {
  const { data } = node;

  /** The summary of a listed entry, if its session is still there and `principal`'s. */
  const summaryOf = async (principal: unknown, entry: ListedEntry): Promise<ConversationSummary | undefined> => {
    const fields = await data.readSummaryFields(entry.id);
    if (!fields) {
      // Expired (or deleted while a writer still wrote): the index forgets it.
      data.index.unlisted(principal, entry.id).catch((error: unknown) => node.reportFailure(error));
      return undefined;
    }
    if (!samePrincipal(fields.principal, principal)) return undefined;
    const { createdAt, title, messageCount, usage } = fields;
    return { id: entry.id, title, createdAt, updatedAt: entry.updatedAt, messageCount, ...(usage ? { usage } : {}) };
  };

  /** The session's principal as Redis keeps it (written back from the records if Redis lost it), if it is `principal`. */
  const owns = async (principal: unknown, id: string): Promise<boolean> => {
    const meta = await readMeta(node, id);
    return meta !== undefined && samePrincipal(meta.principal, principal);
  };

  /** Whether Redis or the records keep conversation `id` as `principal`'s (nothing is written back). */
  const kept = async (principal: unknown, id: string): Promise<boolean> => {
    const meta = (await data.readMeta(id)) ?? (await node.records?.read(id))?.meta;
    return meta !== undefined && samePrincipal(meta.principal, principal);
  };

  const { records } = node;
  return {
    list: async (principal, { limit, cursor }) => {
      // The records keep every conversation, also those Redis lost or let expire.
      if (records) return records.list(principal, { limit, ...(cursor === undefined ? {} : { cursor }) });
      // What this process wrote of the principal's sessions is in the list it gives.
      const mine = [...node.context.sessions.values()].filter((session) => samePrincipal(session.principal, principal));
      await data.settled(mine.map((session) => session.id));
      const page: ConversationSummary[] = [];
      let after = decodeCursor(cursor);
      for (;;) {
        const { entries, full } = await data.index.listedAfter(principal, after, limit - page.length + 1);
        const summaries = await Promise.all(entries.map((entry) => summaryOf(principal, entry)));
        for (const summary of summaries) {
          if (!summary) continue;
          const last = page[page.length - 1];
          if (page.length === limit && last)
            return { conversations: page, nextCursor: encodeCursor(last.updatedAt, last.id) };
          page.push(summary);
        }
        const last = entries[entries.length - 1];
        if (!full || !last) return { conversations: page };
        after = last;
      }
    },
    open: async (principal, id) => {
      const held = node.context.sessions.get(id);
      if (held)
        return samePrincipal(held.principal, principal)
          ? { outcome: 'resumed', session: held, replay: [] }
          : { outcome: 'session_lost' };
      if (!(await owns(principal, id))) return { outcome: 'session_lost' };
      const { resumeToken } = node.context.newIdentity();
      const tokenHash = hashToken(resumeToken);
      await Promise.all([data.setToken(id, tokenHash), records?.setToken(id, tokenHash)]);
      // From the newest seq: the connection is given the history, not the stream so far.
      return claim(id, resumeToken, await data.lastSeq(id), principal);
    },
    rename: async (principal, id, title) => {
      if (!(await owns(principal, id))) return false;
      const now = Date.now();
      await data.setTitle(id, title);
      await (records ? records.rename(id, title, now) : data.index.listed(principal, id, now));
      return true;
    },
    remove: async (principal, id) => {
      if (!(await kept(principal, id))) return false;
      // The records first: a resume of it from now on (its connections reconnect at once) finds
      // nothing to bring back into Redis.
      await records?.remove(id);
      const held = node.context.sessions.get(id);
      if (held) dropDeleted(node, held);
      await node.publish({ t: 'deleted', s: id });
      await Promise.all([data.remove(id), data.index.unlisted(principal, id)]);
      return true;
    },
  };
}
