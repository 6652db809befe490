/**
 * Sessions Redis no longer has but the durable records keep (Redis restarted empty, or the
 * session's keys expired while the records kept it): written back into Redis as its last writer
 * left them, so the store takes it as any other (a running reply is then ended as interrupted,
 * see ./writer.ts). What goes back: the history, the title and usage, the answered request ids,
 * the frames the records hold (so a resume from before them replays them), the newest seq, and
 * last the metadata, whose token says the session is there.
 */
import type { StoredSession } from '../../core/ports';
import type { StoredMeta } from './redis-data';
import type { ServerProcess } from './server-process';

/** Restores under way on this process, by session: two asks at once restore once. */
const restores = new WeakMap<ServerProcess, Map<string, Promise<StoredMeta | undefined>>>();

/**
 * The session's metadata from Redis; when Redis does not have it and the store keeps records,
 * from the records, after writing the session back into Redis. None when neither has it.
 */
export async function readMeta(node: ServerProcess, sessionId: string): Promise<StoredMeta | undefined> {
  const meta = await node.data.readMeta(sessionId);
  if (meta || !node.records) return meta;
  let under = restores.get(node);
  if (!under) {
    under = new Map<string, Promise<StoredMeta | undefined>>();
    restores.set(node, under);
  }
  const running = under.get(sessionId);
  if (running) return running;
  const restored = restore(node, sessionId);
  under.set(sessionId, restored);
  try {
    return await restored;
  } finally {
    under.delete(sessionId);
  }
}

/** Writes session `sessionId` back into Redis from the records; its metadata as now stored (none if the records lack it too). */
async function restore(node: ServerProcess, sessionId: string): Promise<StoredMeta | undefined> {
  const { data, records } = node;
  const stored = records && (await records.read(sessionId));
  if (!records || !stored) return undefined;
  const { meta } = stored;
  await data.writeHistory(sessionId, stored.history);
  if (meta.title !== undefined) await data.setTitle(sessionId, meta.title);
  if (meta.usage) await data.setUsage(sessionId, meta.usage);
  await restoreRequestIds(node, sessionId, stored);
  let range = await records.framesAfter(sessionId, 0);
  // Frames the client acknowledged were trimmed: the log starts where the records do.
  if ('gap' in range) range = await records.framesAfter(sessionId, range.gap.oldestHeld - 1);
  const frames = 'frames' in range ? range.frames : [];
  // Sent in order on the one connection. Another process restoring the same session at once
  // wrote them already: Redis refuses them again, harmlessly.
  await Promise.all(frames.map((frame) => data.append(sessionId, frame.seq, frame.text).catch(() => undefined)));
  await data.markReached(sessionId, stored.lastSeq);
  // Last: once the token is there, other processes take the session as present.
  await data.writeMeta(sessionId, meta.tokenHash, meta.principal, meta.busy?.requestId);
  await data.touch([sessionId]);
  return data.readMeta(sessionId);
}

/** The `user_message` ids answered lately, newest first, as the records keep them. */
async function restoreRequestIds(node: ServerProcess, sessionId: string, stored: StoredSession): Promise<void> {
  if (stored.requestIds.length === 0) return;
  const key = node.data.key(sessionId, 'requests');
  await node.options.redis
    .multi()
    .del(key)
    .rpush(key, ...stored.requestIds)
    .exec();
}
